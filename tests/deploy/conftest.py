"""Fixtures of the deploy/ tests: each Kubernetes variant as kustomize builds it, and applied."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import Simulator
from tests.dmcli.fixtures import stack
from tests.support import kubectl, start_simulator

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
# Each directory `kubectl apply -k` takes: the highly available base, the optional
# PostgreSQL on top of it, and the single-replica SQLite alternative.
VARIANTS = {
    "base": KUBERNETES / "base",
    "postgresql": KUBERNETES / "overlays" / "postgresql",
    "sqlite": KUBERNETES / "overlays" / "sqlite",
}
# The ports the design gives each Service, written out so a changed default shows.
DESIGN_PORTS = {"manager-service": 8080, "expander-service": 8081, "resourcifier-service": 8082}

__all__ = ["stack"]


def build(variant: str) -> list[dict]:
    """The objects of a variant, as `kubectl kustomize` renders them, in its order."""
    result = subprocess.run(["kubectl", "kustomize", str(VARIANTS[variant])],
                            capture_output=True, text=True, timeout=60, check=True)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def find(objects: list[dict], kind: str, name: str) -> dict:
    matches = [
        item for item in objects if item["kind"] == kind and item["metadata"]["name"] == name
    ]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def of_kind(objects: list[dict], *kinds: str) -> list[dict]:
    return [item for item in objects if item["kind"] in kinds]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def manifests(variant) -> list[dict]:
    return build(variant)


@pytest.fixture(scope="module")
def applied(variant, tmp_path_factory) -> Simulator:
    """A simulator of its own with the variant applied by `kubectl apply -k`."""
    process, url, kubeconfig = start_simulator(tmp_path_factory.mktemp("deploy-sim"))
    simulator = Simulator(process, url, kubeconfig)
    kubectl(kubeconfig, "apply", "-k", str(VARIANTS[variant]))
    yield simulator
    process.stop()
