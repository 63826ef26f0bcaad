"""Resourcifier service: applies, reads and deletes primitive resources on a cluster."""
