"""Fixtures of the deploy/ tests: the manifests as parsed YAML, simulators to apply them to."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Simulator
from tests.dmcli.fixtures import stack
from tests.support import kubectl, start_simulator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# The ports the design gives each Service, written out so a changed default shows.
DESIGN_PORTS = {"manager-service": 8080, "expander-service": 8081, "resourcifier-service": 8082}

__all__ = ["stack"]


def load_manifests() -> list[dict]:
    """Every object of deploy/kubernetes/, in the order `kubectl apply -f` applies them."""
    objects = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def find(objects: list[dict], kind: str, name: str) -> dict:
    matches = [
        item for item in objects if item["kind"] == kind and item["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


@pytest.fixture(scope="module")
def manifests() -> list[dict]:
    return load_manifests()


def _simulator(tmp_path_factory) -> Simulator:
    process, url, kubeconfig = start_simulator(tmp_path_factory.mktemp("deploy-sim"))
    return Simulator(process, url, kubeconfig)


@pytest.fixture
def empty_simulator(tmp_path_factory):
    """A simulator of its own, so the cluster-wide objects of DM meet nothing else."""
    simulator = _simulator(tmp_path_factory)
    yield simulator
    simulator.process.stop()


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A simulator with deploy/kubernetes/ applied for real by kubectl."""
    simulator = _simulator(tmp_path_factory)
    kubectl(simulator.kubeconfig, "apply", "-f", str(KUBERNETES / "00-namespace.yaml"))
    kubectl(simulator.kubeconfig, "apply", "-f", str(KUBERNETES))
    yield simulator
    simulator.process.stop()
