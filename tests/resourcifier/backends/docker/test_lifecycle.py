"""What the docker backend refuses, what it removes, and what survives a restart."""

from __future__ import annotations

import pytest
import requests

from tests.contract.conftest import Backend, config_map, deployment, namespace_resource, states
from tests.resourcifier.backends.docker.engine import leftovers
from tests.resourcifier.backends.docker.fixtures import SESSION_PREFIX
from tests.resourcifier.backends.docker.helpers import container, containers_of, pod
from tests.support import start_service

pytestmark = pytest.mark.docker

NOTHING = {"containers": [], "volumes": [], "networks": []}


def _with_pod_field(path: list[str], value) -> dict:
    body = deployment("odd")
    target = body["properties"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    "path, value, named",
    [
        (["spec", "template", "spec", "initContainers"], [container("init", "true")],
         "spec.template.spec.initContainers"),
        (["spec", "template", "spec", "volumes"], [{"name": "h", "hostPath": {"path": "/"}}],
         "spec.template.spec.volumes[0].hostPath"),
        (["spec", "template", "spec", "nodeSelector"], {"disk": "ssd"},
         "spec.template.spec.nodeSelector"),
        (["spec", "minReadySeconds"], 5, "spec.minReadySeconds"),
    ],
)
def test_field_the_backend_cannot_honour_fails_by_its_path_and_runs_nothing(
    backend, namespace, docker_client, path, value, named
):
    response = backend.apply([config_map("fine"), _with_pod_field(path, value)], namespace)
    assert states(response) == ["Created", "Failed"]
    errors = response.json()["resources"][1]["state"]["errors"]
    assert errors == [f"not supported by the docker backend: {named}"]
    assert containers_of(docker_client, namespace, "odd") == []
    assert backend.get("deployments/odd", namespace).status_code == 404


def test_kind_the_backend_cannot_run_fails_alone(backend, namespace):
    ingress = {"name": "in", "type": "Ingress", "properties": {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "in"},
        "spec": {}}}
    response = backend.apply([ingress, config_map("fine")], namespace)
    assert states(response) == ["Failed", "Created"]
    assert response.json()["resources"][0]["state"]["errors"] == [
        "not supported by the docker backend: kind Ingress"]


def test_service_port_remapping_is_refused(backend, namespace):
    remapped = {"name": "svc", "type": "Service", "properties": {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
        "spec": {"selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 8080}]}}}
    response = backend.apply([remapped], namespace)
    assert states(response) == ["Failed"]
    assert "spec.ports[0].targetPort" in response.json()["resources"][0]["state"]["errors"][0]
    assert backend.names("services", namespace) == []


def test_deleting_objects_removes_their_containers_and_volumes_only(
    backend, namespace, docker_client
):
    scratch = {"name": "scratch", "emptyDir": {}}
    keep = pod("keep", [container("main", "sleep", "3600")])
    drop = pod("drop", [container("main", "sleep", "3600",
                                  volumeMounts=[{"name": "scratch", "mountPath": "/s"}])],
               volumes=[scratch])
    backend.apply([keep, drop, deployment("web", replicas=2)], namespace)
    assert states(backend.delete([drop, deployment("web")], namespace)) == ["Deleted"] * 2
    left = leftovers(docker_client, namespace)
    assert [name.split(".")[2] for name in left["containers"]] == ["keep"]
    assert all(".drop." not in name for name in left["volumes"])
    assert left["networks"] == [f"dm-{namespace}"]


def test_deleting_a_namespace_removes_everything_made_in_it(backend, docker_client):
    name = f"{SESSION_PREFIX}whole"
    resources = [namespace_resource(name), config_map("c"), deployment("web", replicas=2)]
    for resource in resources[1:]:
        resource["properties"]["metadata"]["namespace"] = name
    assert states(backend.apply(resources, name)) == ["Created"] * 3
    assert leftovers(docker_client, name)["containers"]
    assert states(backend.delete([namespace_resource(name)], name)) == ["Deleted"]
    assert leftovers(docker_client, name) == NOTHING
    assert backend.get(f"namespaces/{name}").status_code == 404


def test_objects_survive_a_restart_of_the_resourcifier(backend, namespace, tmp_path):
    backend.apply([config_map("settings", color="red"), deployment("web")], namespace)
    process, url = start_service("resourcifier", tmp_path,
                                 env={"DM_RESOURCIFIER_BACKEND": "docker"})
    try:
        fresh = Backend("docker", url)
        assert fresh.get("cm/settings", namespace).json()["data"] == {"color": "red"}
        assert fresh.get("deployments/web", namespace).json()["status"]["replicas"] == 1
    finally:
        process.stop()


def test_unreachable_engine_answers_503_and_applies_nothing(tmp_path):
    process, url = start_service(
        "resourcifier", tmp_path,
        env={"DM_RESOURCIFIER_BACKEND": "docker",
             "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
    )
    try:
        ready = requests.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert "docker engine" in ready.json()["message"]
        response = requests.post(f"{url}/configurations",
                                 json={"resources": [config_map("c")]}, timeout=30)
        assert response.status_code == 503
        assert "docker engine" in response.json()["message"]
    finally:
        process.stop()
