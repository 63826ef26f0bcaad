"""Pods, workloads and Jobs as containers on the engine."""

from __future__ import annotations

import pytest

from tests.contract.conftest import deployment, states
from tests.resourcifier.backends.docker.helpers import (
    container,
    containers_of,
    job,
    pod,
    run,
    running_ids,
    web_server,
)
from tests.support import wait_until

pytestmark = pytest.mark.docker


def test_containers_of_a_pod_share_localhost(backend, namespace, docker_client):
    body = pod("duo", [web_server(), container("client", "sleep", "3600")])
    assert states(backend.apply([body], namespace)) == ["Created"]
    web, client = containers_of(docker_client, namespace, "duo")
    assert client.attrs["HostConfig"]["NetworkMode"] == f"container:{web.id}"
    run(web, "sh", "-c", "echo hello > /www/index.html")
    assert wait_until(lambda: run(client, "wget", "-qO-", "http://localhost:8080/")) == "hello\n"


def test_pod_carries_labels_naming_kind_namespace_name_and_deployment(
    backend, namespace, docker_client
):
    body = pod("one", [container("main", "sleep", "3600")])
    body["properties"]["metadata"]["labels"]["deployment-manager.io/deployment"] = "shop"
    backend.apply([body], namespace)
    (only,) = containers_of(docker_client, namespace, "one")
    labels = only.labels
    assert labels["docker.deployment-manager.io/kind"] == "Pod"
    assert labels["docker.deployment-manager.io/namespace"] == namespace
    assert labels["docker.deployment-manager.io/name"] == "one"
    assert labels["deployment-manager.io/deployment"] == "shop"


def test_deployment_runs_its_replicas_and_reports_them_ready(backend, namespace, docker_client):
    backend.apply([deployment("web", replicas=3)], namespace)
    assert len(running_ids(docker_client, namespace, "web")) == 3
    status = wait_until(lambda: _ready(backend, namespace, "web", 3))
    assert status["replicas"] == status["updatedReplicas"] == 3


def test_scaling_keeps_the_pods_that_stay(backend, namespace, docker_client):
    backend.apply([deployment("web", replicas=2)], namespace)
    before = running_ids(docker_client, namespace, "web")
    backend.apply([deployment("web", replicas=3)], namespace)
    grown = running_ids(docker_client, namespace, "web")
    assert len(grown) == 3 and set(before) <= set(grown)
    backend.apply([deployment("web", replicas=1)], namespace)
    shrunk = running_ids(docker_client, namespace, "web")
    assert len(shrunk) == 1 and set(shrunk) <= set(grown)
    assert wait_until(lambda: _ready(backend, namespace, "web", 1))


def test_template_change_replaces_every_pod(backend, namespace, docker_client):
    backend.apply([deployment("web", replicas=2)], namespace)
    before = running_ids(docker_client, namespace, "web")
    backend.apply([deployment("web", replicas=2, command=["sleep", "3601"])], namespace)
    after = containers_of(docker_client, namespace, "web")
    assert len(after) == 2 and not {c.id for c in after} & set(before)
    assert all(c.attrs["Path"] == "sleep" and c.attrs["Args"] == ["3601"] for c in after)


def test_reapplying_unchanged_restarts_nothing(backend, namespace, docker_client):
    resources = [deployment("web", replicas=2), pod("solo", [container("main", "sleep", "3600")])]
    backend.apply(resources, namespace)
    before = containers_of(docker_client, namespace, "web") + containers_of(
        docker_client, namespace, "solo")
    backend.apply(resources, namespace)
    after = containers_of(docker_client, namespace, "web") + containers_of(
        docker_client, namespace, "solo")
    assert [c.id for c in after] == [c.id for c in before]
    assert [c.attrs["State"]["StartedAt"] for c in after] == [
        c.attrs["State"]["StartedAt"] for c in before]


def test_container_removed_by_hand_comes_back_on_the_next_apply(backend, namespace, docker_client):
    backend.apply([deployment("web", replicas=2)], namespace)
    gone, kept = containers_of(docker_client, namespace, "web")
    gone.remove(force=True)
    backend.apply([deployment("web", replicas=2)], namespace)
    now = running_ids(docker_client, namespace, "web")
    assert len(now) == 2 and kept.id in now and gone.id not in now


def test_container_stopped_by_hand_runs_again_after_the_next_apply(
    backend, namespace, docker_client
):
    backend.apply([deployment("web")], namespace)
    (stopped,) = containers_of(docker_client, namespace, "web")
    stopped.stop(timeout=0)
    backend.apply([deployment("web")], namespace)
    assert running_ids(docker_client, namespace, "web") == [stopped.id]


def test_job_that_exits_zero_succeeds(backend, namespace):
    backend.apply([job("ok", "true")], namespace)
    status = wait_until(lambda: _job_status(backend, namespace, "ok", "succeeded"))
    assert status["conditions"][0]["type"] == "Complete"


def test_job_that_exits_non_zero_fails(backend, namespace):
    backend.apply([job("broken", "false")], namespace)
    status = wait_until(lambda: _job_status(backend, namespace, "broken", "failed"))
    assert status["conditions"][0]["type"] == "Failed"


def test_pods_of_workloads_are_listed_with_their_phase(backend, namespace):
    backend.apply([deployment("web", replicas=2)], namespace)
    pods = wait_until(lambda: _running_pods(backend, namespace))
    assert len(pods) == 2
    assert all(p["metadata"]["ownerReferences"][0]["name"] == "web" for p in pods)
    assert all(p["status"]["podIP"] for p in pods)


def test_missing_image_fails_the_resource_and_leaves_nothing(backend, namespace, docker_client):
    body = pod("ghost", [{"name": "main", "image": "dm-test/absent:1", "imagePullPolicy": "Never"}])
    response = backend.apply([body], namespace)
    assert states(response) == ["Failed"]
    assert "dm-test/absent:1" in response.json()["resources"][0]["state"]["errors"][0]
    assert containers_of(docker_client, namespace, "ghost") == []


def _ready(backend, namespace: str, name: str, count: int):
    status = backend.get(f"deployments/{name}", namespace).json()["status"]
    return status if status["readyReplicas"] == count and status["replicas"] == count else None


def _job_status(backend, namespace: str, name: str, field: str):
    status = backend.get(f"jobs/{name}", namespace).json()["status"]
    return status if status.get(field) == 1 else None


def _running_pods(backend, namespace: str):
    pods = backend.get("pods", namespace).json()
    return pods if pods and all(p["status"]["phase"] == "Running" for p in pods) else None


def test_stateful_set_pods_have_stable_names_and_their_own_volumes(
    backend, namespace, docker_client
):
    body = deployment("db", replicas=2)
    body["type"] = body["properties"]["kind"] = "StatefulSet"
    properties = body["properties"]
    properties["spec"]["serviceName"] = "db"
    properties["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
    properties["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"}]
    assert states(backend.apply([body], namespace)) == ["Created"]
    first, second = containers_of(docker_client, namespace, "db")
    assert [c.labels["docker.deployment-manager.io/pod"] for c in (first, second)] == [
        "db-0", "db-1"]
    run(first, "sh", "-c", "echo zero > /data/who")
    assert second.exec_run(["cat", "/data/who"]).exit_code != 0
    assert states(backend.delete([body], namespace)) == ["Deleted"]
    assert not [v.name for v in docker_client.volumes.list() if ".claim.data-db-" in v.name]
