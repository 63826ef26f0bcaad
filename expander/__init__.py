"""Expander service: turns a configuration with templates into a flat list of primitives."""
