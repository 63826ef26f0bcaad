"""Fixtures the CLI, examples and deploy tests share; their conftest.py files import them."""

from __future__ import annotations

import pytest

from tests.cli.runner import new_namespace
from tests.conftest import Stack
from tests.support import start_service


@pytest.fixture(scope="module")
def stack(tmp_path_factory, simulator, expander_url, resourcifier_url) -> Stack:
    """A manager of its own for the module, over the session's services and simulator.

    One manager per module instead of one per test keeps these tests fast; they use
    unique deployment names and namespaces instead of an empty manager.
    """
    workdir = tmp_path_factory.mktemp("manager")
    process, url = start_service(
        "manager",
        workdir,
        [
            "--expander-url",
            expander_url,
            "--resourcifier-url",
            resourcifier_url,
            "--data-dir",
            str(workdir / "data"),
        ],
    )
    yield Stack(url, expander_url, resourcifier_url, simulator, {"manager": process})
    process.stop()


@pytest.fixture
def namespace(stack) -> str:
    """A fresh namespace in the simulator, so tests never see each other's objects."""
    return new_namespace(stack.simulator.kubeconfig, "test")
