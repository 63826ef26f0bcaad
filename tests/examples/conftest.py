"""Fixtures of the examples' end-to-end tests: a manager per module and a namespace per test."""

from tests.dmcli.fixtures import namespace, stack

__all__ = ["namespace", "stack"]
