"""Services as network aliases, and host ports for NodePort and LoadBalancer."""

from __future__ import annotations

import pytest
import requests

from tests.contract.conftest import config_map, deployment, service, states
from tests.resourcifier.backends.docker.helpers import (
    container,
    containers_of,
    pod,
    run,
    web_server,
)
from tests.support import free_port, wait_until

pytestmark = pytest.mark.docker


def _web(name: str = "backend", replicas: int = 1) -> dict:
    """A Deployment serving a ConfigMap's index.html on port 8080."""
    body = deployment(name, replicas=replicas)
    spec = body["properties"]["spec"]["template"]["spec"]
    spec["containers"] = [web_server("web", volumeMounts=[{"name": "www", "mountPath": "/www"}])]
    spec["volumes"] = [{"name": "www", "configMap": {"name": "pages"}}]
    return body


def _client(namespace_pods: str = "client") -> dict:
    return pod(namespace_pods, [container("main", "sleep", "3600")])


def _fetch(docker_client, namespace: str, url: str) -> str:
    (client,) = containers_of(docker_client, namespace, "client")
    return wait_until(lambda: run(client, "wget", "-qO-", url), timeout=15)


def test_pods_reach_a_service_by_its_name(backend, namespace, docker_client):
    resources = [config_map("pages", **{"index.html": "from backend\n"}), service("backend",
                 "backend"), _web(), _client()]
    assert states(backend.apply(resources, namespace)) == ["Created"] * 4
    assert _fetch(docker_client, namespace, "http://backend:8080/") == "from backend\n"
    full_name = f"http://backend.{namespace}.svc.cluster.local:8080/"
    assert _fetch(docker_client, namespace, full_name) == "from backend\n"


def test_service_applied_after_its_pods_still_gets_their_alias(backend, namespace, docker_client):
    backend.apply([config_map("pages", **{"index.html": "late\n"}), _web(), _client()], namespace)
    before = [c.id for c in containers_of(docker_client, namespace, "backend")]
    backend.apply([service("backend", "backend")], namespace)
    assert _fetch(docker_client, namespace, "http://backend:8080/") == "late\n"
    assert [c.id for c in containers_of(docker_client, namespace, "backend")] == before


def test_deleting_a_service_removes_its_alias(backend, namespace, docker_client):
    resources = [config_map("pages", **{"index.html": "x\n"}), service("backend", "backend"),
                 _web(), _client()]
    backend.apply(resources, namespace)
    backend.delete([service("backend", "backend")], namespace)
    (web,) = containers_of(docker_client, namespace, "backend")
    aliases = web.attrs["NetworkSettings"]["Networks"][f"dm-{namespace}"]["Aliases"] or []
    assert not {"backend", f"backend.{namespace}.svc.cluster.local"} & set(aliases)
    assert backend.names("services", namespace) == []


def test_cluster_ip_service_publishes_nothing_on_the_host(backend, namespace, docker_client):
    backend.apply([config_map("pages", **{"index.html": "x\n"}), service("backend", "backend"),
                   _web()], namespace)
    (web,) = containers_of(docker_client, namespace, "backend")
    assert not web.attrs["HostConfig"]["PortBindings"]


def test_node_port_service_publishes_its_port_on_the_host(backend, namespace, docker_client):
    port = free_port()
    exposed = service("backend", "backend")
    exposed["properties"]["spec"].update(type="NodePort")
    exposed["properties"]["spec"]["ports"][0]["nodePort"] = port
    response = backend.apply([config_map("pages", **{"index.html": "outside\n"}), _web(),
                              exposed], namespace)
    assert states(response) == ["Created"] * 3
    answer = wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=2), timeout=15)
    assert answer.text == "outside\n"
