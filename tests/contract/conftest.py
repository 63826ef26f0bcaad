"""One resourcifier per backend, and fresh namespaces made through the API itself."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.resourcifier.backends.docker.engine import IMAGE
from tests.resourcifier.backends.docker.fixtures import (  # noqa: F401 - fixtures are found by name
    SESSION_PREFIX,
    docker_client,
    docker_resourcifier,
)

_numbers = itertools.count()


@dataclass
class Backend:
    """A resourcifier served over one backend, as the contract tests see it."""

    name: str
    url: str

    def request(self, method: str, body: Any, **params: str) -> requests.Response:
        return requests.request(
            method, f"{self.url}/configurations", json=body, params=params, timeout=120
        )

    def apply(self, resources: list[dict], namespace: str, **params: str) -> requests.Response:
        return self.request("POST", {"resources": resources, "namespace": namespace}, **params)

    def delete(self, resources: list[dict], namespace: str, **params: str) -> requests.Response:
        return self.request("DELETE", {"resources": resources, "namespace": namespace}, **params)

    def get(self, path: str, namespace: str | None = None) -> requests.Response:
        params = {"namespace": namespace} if namespace else {}
        return requests.get(f"{self.url}/configurations/{path}", params=params, timeout=60)

    def names(self, kind: str, namespace: str) -> list[str]:
        response = self.get(kind, namespace)
        assert response.status_code == 200, response.text
        return [item["metadata"]["name"] for item in response.json()]


@pytest.fixture(
    scope="session",
    params=["kubectl", pytest.param("docker", marks=pytest.mark.docker)],
)
def backend(request) -> Backend:
    """Every contract test runs once per backend: kubectl on the simulator, docker on an engine."""
    if request.param == "kubectl":
        return Backend("kubectl", request.getfixturevalue("resourcifier_url"))
    return Backend("docker", request.getfixturevalue("docker_resourcifier"))


@pytest.fixture
def namespace(backend) -> str:
    """A namespace created through the API, deleted with everything in it afterwards."""
    yield from _fresh_namespace(backend)


@pytest.fixture(scope="module")
def module_namespace(backend) -> str:
    """Like `namespace`, shared by the tests of one module that only read."""
    yield from _fresh_namespace(backend)


def _fresh_namespace(backend: Backend):
    name = f"{SESSION_PREFIX}c{next(_numbers)}"
    response = backend.apply([namespace_resource(name)], name)
    assert response.json()["resources"][0]["state"]["status"] == "Created", response.text
    yield name
    backend.delete([namespace_resource(name)], name)


def namespace_resource(name: str) -> dict[str, Any]:
    return {"name": name, "type": "Namespace", "properties": {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}}


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {"name": name, "type": "ConfigMap", "properties": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
        "data": data or {"key": "value"}}}


def deployment(name: str, replicas: int = 1, labels: dict[str, str] | None = None,
               command: list[str] | None = None) -> dict[str, Any]:
    """A Deployment of the test image that stays up; `labels` on the pod template."""
    return {"name": name, "type": "Deployment", "properties": {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels or {"app": name}},
                "spec": {"containers": [{
                    "name": "main", "image": IMAGE,
                    "command": command or ["sleep", "3600"],
                }]},
            },
        }}}


def service(name: str, app: str, port: int = 8080) -> dict[str, Any]:
    return {"name": name, "type": "Service", "properties": {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": app}, "ports": [{"port": port}]}}}


def states(response: requests.Response) -> list[str]:
    return [resource["state"]["status"] for resource in response.json()["resources"]]
