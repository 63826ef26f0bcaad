"""Health: every backend reads the same health from the same workloads, whether a
simulated kubelet or a container engine runs them."""

from __future__ import annotations

import pytest

from tests.contract.conftest import config_map, deployment, job, pod, service, states


def test_a_healthy_app_becomes_healthy(backend, runtime, namespace):
    app = [deployment("web"), service("web", "web")]
    backend.apply(app, namespace)
    runtime.runs(app, namespace)
    assert backend.wait_for_health(app, namespace, "Healthy", "Healthy") == [
        {"status": "Healthy", "message": "1/1 replicas available"},
        {"status": "Healthy", "message": "exists"},
    ]


def test_an_applied_resource_comes_back_with_its_health(backend, namespace):
    response = backend.apply([config_map("settings")], namespace)
    assert response.json()["resources"][0]["state"]["health"] == {
        "status": "Healthy", "message": "exists"}


@pytest.mark.parametrize("failing, reason", [
    (pod("broken", ["sh", "-c", "exit 1"]), "container main"),
    (job("migrate", ["sh", "-c", "exit 1"]), "failed: BackoffLimitExceeded"),
], ids=["a container that keeps failing", "a failing job"])
def test_a_workload_whose_command_fails_is_degraded_with_the_reason(
    backend, runtime, namespace, failing, reason
):
    backend.apply([failing], namespace)
    runtime.crashes([failing], namespace)
    [health] = backend.wait_for_health([failing], namespace, "Degraded")
    assert health["message"].startswith(reason)


def test_a_job_that_succeeds_is_healthy_once_complete(backend, runtime, namespace):
    done = [job("migrate", ["true"])]
    backend.apply(done, namespace)
    runtime.runs(done, namespace)
    [health] = backend.wait_for_health(done, namespace, "Healthy")
    assert health["message"].startswith("complete: ")


def test_status_lists_every_resource_in_order_with_its_live_object(backend, namespace):
    backend.apply([config_map("a"), config_map("c")], namespace)
    asked = [config_map("c"), config_map("b"), config_map("a")]
    response = backend.status(asked, namespace)
    assert response.status_code == 200
    answered = response.json()["resources"]
    assert [item["name"] for item in answered] == ["c", "b", "a"]
    assert [item["live"] and item["live"]["metadata"]["name"] for item in answered] == [
        "c", None, "a"]
    assert [item["health"]["status"] for item in answered] == ["Healthy", "Missing", "Healthy"]


def test_status_of_many_objects_sharing_labels_finds_each_as_it_is_now(backend, namespace):
    many = [config_map(f"cm-{i}") for i in range(25)]
    for item in many:
        item["properties"]["metadata"]["labels"] = {"app": "many"}
    backend.apply(many, namespace)
    relabelled = config_map("cm-1")
    relabelled["properties"]["metadata"]["labels"] = {"app": "other"}
    backend.apply([relabelled], namespace)
    backend.delete([many[2]], namespace)
    answered = backend.status(many, namespace).json()["resources"]
    assert [item["name"] for item in answered] == [f"cm-{i}" for i in range(25)]
    assert [item["health"]["status"] for item in answered[:3]] == ["Healthy", "Healthy", "Missing"]
    assert answered[1]["live"]["metadata"]["labels"]["app"] == "other"
    assert [item["live"]["metadata"]["name"] for item in answered[3:]] == [
        f"cm-{i}" for i in range(3, 25)]


def test_an_absent_object_is_missing(backend, namespace):
    [answered] = backend.status([config_map("never-applied")], namespace).json()["resources"]
    assert answered["live"] is None
    assert answered["health"] == {"status": "Missing", "message": "not found"}


def test_an_object_deleted_behind_the_callers_back_is_missing(backend, namespace):
    backend.apply([config_map("gone")], namespace)
    backend.delete([config_map("gone")], namespace)
    assert backend.healths([config_map("gone")], namespace) == [
        {"status": "Missing", "message": "not found"}]


def test_status_of_a_kind_the_runtime_does_not_serve_is_missing_with_the_reason(
    backend, namespace
):
    gizmo = {"name": "g", "type": "Gizmo", "properties": {
        "apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}}}
    [health] = backend.healths([gizmo], namespace)
    assert health["status"] == "Missing"
    assert health["message"].startswith('no kind "Gizmo" is ')


def test_status_validates_the_configuration_like_an_apply(backend):
    response = backend.status([], "default")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the configuration has no resources: 'resources' must be a non-empty list")


def test_status_changes_nothing(backend, namespace):
    backend.status([config_map("looked-at")], namespace)
    assert backend.names("configmaps", namespace) == []
    assert states(backend.apply([config_map("looked-at")], namespace)) == ["Created"]
