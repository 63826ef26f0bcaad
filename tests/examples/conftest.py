"""Fixtures of the examples' end-to-end tests."""

from __future__ import annotations

import pytest

from tests.cli.runner import new_namespace, shared_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory, simulator, expander_url, resourcifier_url):
    """One manager for the whole module, over the session's expander, resourcifier and simulator."""
    yield from shared_stack(
        tmp_path_factory.mktemp("manager"), simulator, expander_url, resourcifier_url
    )


@pytest.fixture
def namespace(stack) -> str:
    """A fresh namespace in the simulator for one example."""
    return new_namespace(stack.simulator.kubeconfig, "example")
