"""Plumbing the three services share: settings, JSON errors, bearer tokens, the gunicorn launcher.

The services never import each other; they talk JSON over HTTP. This package holds
only service-neutral plumbing, so the rules (error shape, settings precedence,
token checks) are written once.
"""
