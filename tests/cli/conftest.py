"""Fixtures of the CLI tests."""

from __future__ import annotations

import pytest

from tests.cli.runner import new_namespace


@pytest.fixture
def namespace(stack) -> str:
    """A fresh namespace in the simulator, so tests never see each other's objects."""
    return new_namespace(stack.simulator.kubeconfig, "cli")
