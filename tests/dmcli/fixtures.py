"""Fixtures and helpers the CLI, examples and deploy tests share; conftest.py files import them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Stack
from tests.dmcli.runner import new_namespace
from tests.support import start_manager

GUESTBOOK = Path(__file__).resolve().parents[2] / "examples" / "guestbook" / "guestbook.yaml"


def write_guestbook_copy(folder: Path, frontend_replicas: int) -> Path:
    """The guestbook with another frontend replica count, beside copies of its template."""
    for name in ("replicated_service.py", "replicated_service.py.schema"):
        (folder / name).write_text((GUESTBOOK.parent / name).read_text())
    config = yaml.safe_load(GUESTBOOK.read_text())
    config["resources"][0]["properties"]["replicas"] = frontend_replicas
    path = folder / "guestbook.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory, simulator, expander_url, resourcifier_url) -> Stack:
    """A manager of its own for the module, over the session's services and simulator.

    One manager per module instead of one per test keeps these tests fast; they use
    unique deployment names and namespaces instead of an empty manager.
    """
    process, url = start_manager(
        tmp_path_factory.mktemp("manager"), expander_url, resourcifier_url
    )
    yield Stack(url, expander_url, resourcifier_url, simulator, {"manager": process})
    process.stop()


@pytest.fixture
def namespace(stack) -> str:
    """A fresh namespace in the simulator, so tests never see each other's objects."""
    return new_namespace(stack.simulator.kubeconfig, "test")
