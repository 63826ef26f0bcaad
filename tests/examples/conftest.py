"""Fixtures of the examples' end-to-end tests."""

from __future__ import annotations

import pytest

from tests.cli.runner import new_namespace


@pytest.fixture
def namespace(stack) -> str:
    """A fresh namespace in the simulator for one example."""
    return new_namespace(stack.simulator.kubeconfig, "example")
