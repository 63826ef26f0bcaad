"""Fixtures that start DM's services, the simulator and kubectl as real processes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ServiceProcess, start_manager, start_service, start_simulator


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the modules marked slow first, keeping the order within each group.

    The suite runs one module per worker at a time (`--dist loadfile`), in this order;
    a long module that starts last would run on alone after the others finish.
    """

    def quick(item: pytest.Item) -> bool:
        module = item.getparent(pytest.Module)
        return module is None or module.get_closest_marker("slow") is None

    items.sort(key=quick)


@dataclass
class Simulator:
    process: ServiceProcess
    url: str
    kubeconfig: Path


@dataclass
class Stack:
    """The three services wired together over one simulator."""

    manager: str
    expander: str
    resourcifier: str
    simulator: Simulator
    processes: dict[str, ServiceProcess]


@pytest.fixture
def namespace() -> str:
    """A namespace of this test's own on the shared simulator."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app() -> str:
    """A deployment name of this test's own."""
    return f"app-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def simulator(tmp_path_factory) -> Simulator:
    workdir = tmp_path_factory.mktemp("sim")
    process, url, kubeconfig = start_simulator(workdir)
    yield Simulator(process, url, kubeconfig)
    process.stop()


@pytest.fixture(scope="session")
def expander_url(tmp_path_factory) -> str:
    process, url = start_service("expander", tmp_path_factory.mktemp("expander"))
    yield url
    process.stop()


@pytest.fixture(scope="session")
def resourcifier_url(tmp_path_factory, simulator) -> str:
    process, url = start_service(
        "resourcifier",
        tmp_path_factory.mktemp("resourcifier"),
        ["--kubeconfig", str(simulator.kubeconfig)],
    )
    yield url
    process.stop()


@pytest.fixture
def stack(tmp_path, simulator, expander_url, resourcifier_url) -> Stack:
    """A fresh manager (own SQLite file) over the shared expander, resourcifier and simulator."""
    process, url = start_manager(tmp_path, expander_url, resourcifier_url)
    yield Stack(url, expander_url, resourcifier_url, simulator, {"manager": process})
    process.stop()
