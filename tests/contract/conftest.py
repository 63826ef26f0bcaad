"""One resourcifier per backend, and fresh namespaces made through the API itself."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.resourcifier.backends.docker.engine import IMAGE
from tests.resourcifier.backends.docker.fixtures import (  # noqa: F401 - fixtures are found by name
    SESSION_PREFIX,
    docker_client,
    docker_resourcifier,
)
from tests.support import kubectl, wait_until

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

    def status(self, resources: list[dict], namespace: str) -> requests.Response:
        return requests.post(f"{self.url}/configurations/status",
                             json={"resources": resources, "namespace": namespace}, timeout=60)

    def healths(self, resources: list[dict], namespace: str) -> list[dict[str, str]]:
        response = self.status(resources, namespace)
        assert response.status_code == 200, response.text
        return [resource["health"] for resource in response.json()["resources"]]

    def wait_for_health(self, resources: list[dict], namespace: str,
                        *statuses: str) -> list[dict[str, str]]:
        """Poll the status route until each resource has its status in `statuses`; the
        healths then. Containers take seconds to start on an engine."""
        return wait_until(lambda: _matching(self.healths(resources, namespace), statuses),
                          timeout=60, interval=0.5)


@pytest.fixture(
    scope="session",
    params=["kubectl", pytest.param("docker", marks=pytest.mark.docker)],
)
def backend(request) -> Backend:
    """Every contract test runs once per backend: kubectl on the simulator, docker on an engine."""
    if request.param == "kubectl":
        return Backend("kubectl", request.getfixturevalue("resourcifier_url"))
    return Backend("docker", request.getfixturevalue("docker_resourcifier"))


def _matching(healths: list[dict[str, str]], statuses: tuple[str, ...]):
    return healths if [health["status"] for health in healths] == list(statuses) else None


class Kubelet:
    """What a cluster's controllers and kubelet would write into the statuses of objects on
    the simulator, which runs nothing: the kubectl backend's stand-in for a running
    workload."""

    def __init__(self, kubeconfig: Path):
        self.kubeconfig = kubeconfig

    def runs(self, resources: list[dict], namespace: str) -> None:
        """Every workload among `resources` is up: rolled out, ready, or complete."""
        for resource in resources:
            kind = resource["properties"]["kind"]
            if kind == "Deployment":
                live = self._live(resource, namespace)
                replicas = live["spec"]["replicas"]
                self._write(resource, namespace, {
                    "observedGeneration": live["metadata"]["generation"],
                    "replicas": replicas, "updatedReplicas": replicas,
                    "readyReplicas": replicas, "availableReplicas": replicas})
            elif kind == "Job":
                self._write(resource, namespace, {"succeeded": 1, "conditions": [
                    {"type": "Complete", "status": "True"}]})

    def crashes(self, resources: list[dict], namespace: str) -> None:
        """The containers of every workload among `resources` exit with an error."""
        for resource in resources:
            kind = resource["properties"]["kind"]
            if kind == "Pod":
                self._write(resource, namespace, {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "False"}],
                    "containerStatuses": [{
                        "name": "main", "ready": False, "restartCount": 3,
                        "state": {"waiting": {"reason": "CrashLoopBackOff",
                                              "message": "back-off 40s restarting failed "
                                                         "container"}}}]})
            elif kind == "Job":
                self._write(resource, namespace, {"failed": 1, "conditions": [
                    {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                     "message": "Job has reached the specified backoff limit"}]})

    def _live(self, resource: dict, namespace: str) -> dict:
        kind, name = resource["properties"]["kind"], resource["properties"]["metadata"]["name"]
        return json.loads(kubectl(self.kubeconfig, "get", kind, name, "-n", namespace,
                                  "-o", "json").stdout)

    def _write(self, resource: dict, namespace: str, status: dict) -> None:
        kind, name = resource["properties"]["kind"], resource["properties"]["metadata"]["name"]
        kubectl(self.kubeconfig, "patch", kind, name, "-n", namespace, "--subresource=status",
                "--type=merge", "-p", json.dumps({"status": status}))


class Engine:
    """On a container engine, workloads really run: nothing to stand in for."""

    def runs(self, resources: list[dict], namespace: str) -> None:
        """The engine starts them on its own."""

    def crashes(self, resources: list[dict], namespace: str) -> None:
        """Their commands exit with an error on their own."""


@pytest.fixture
def runtime(backend, request) -> Kubelet | Engine:
    """What makes workloads run on the backend under test (see `Kubelet`)."""
    if backend.name == "kubectl":
        return Kubelet(request.getfixturevalue("simulator").kubeconfig)
    return Engine()


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


def pod(name: str, command: list[str]) -> dict[str, Any]:
    """A Pod of the test image running `command` in its container `main`."""
    return {"name": name, "type": "Pod", "properties": {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": IMAGE, "command": command}]}}}


def job(name: str, command: list[str]) -> dict[str, Any]:
    """A Job running `command` once, with no retry."""
    return {"name": name, "type": "Job", "properties": {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": IMAGE, "command": command}]}}}}}


def service(name: str, app: str, port: int = 8080) -> dict[str, Any]:
    return {"name": name, "type": "Service", "properties": {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": app}, "ports": [{"port": port}]}}}


def states(response: requests.Response) -> list[str]:
    return [resource["state"]["status"] for resource in response.json()["resources"]]
