"""DELETE /configurations: objects removed, and absent ones count as deleted."""

from __future__ import annotations

from tests.resourcifier.conftest import config_map, deployment, live_names, post


def test_delete_removes_every_object_and_answers_200(resourcifier_url, simulator, namespace):
    body = {"resources": [config_map("a"), deployment("web")], "namespace": namespace}
    post(resourcifier_url, body)
    response = post(resourcifier_url, body, method="DELETE")
    assert response.status_code == 200, response.text
    states = [r["state"] for r in response.json()["resources"]]
    assert states == [{"status": "Deleted", "errors": []}] * 2
    assert live_names(simulator, "configmaps", namespace) == []
    assert live_names(simulator, "deployments", namespace) == []


def test_object_already_gone_counts_as_deleted(resourcifier_url, simulator, namespace):
    post(resourcifier_url, {"resources": [config_map("here", namespace)]})
    body = {"resources": [config_map("never-was", namespace), config_map("here", namespace)]}
    response = post(resourcifier_url, body, method="DELETE")
    assert [r["state"]["status"] for r in response.json()["resources"]] == ["Deleted", "Deleted"]
    assert live_names(simulator, "configmaps", namespace) == []


def test_dry_run_delete_keeps_the_object(resourcifier_url, simulator, namespace):
    body = {"resources": [config_map("a", namespace)]}
    post(resourcifier_url, body)
    response = post(resourcifier_url, body, method="DELETE", dryRun="true")
    assert response.json()["resources"][0]["state"]["status"] == "Deleted"
    assert live_names(simulator, "configmaps", namespace) == ["a"]


def test_namespace_and_its_objects_delete_in_one_batch(resourcifier_url, simulator):
    name = "rt-doomed-namespace"
    body = {"resources": [
        {"name": "ns", "type": "Namespace",
         "properties": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}},
        config_map("inside", name),
    ]}
    post(resourcifier_url, body)
    response = post(resourcifier_url, body, method="DELETE")
    assert [r["state"]["status"] for r in response.json()["resources"]] == ["Deleted", "Deleted"]


def test_object_of_a_kind_the_cluster_does_not_serve_counts_as_deleted(
    resourcifier_url, simulator, namespace
):
    """Its CRD is gone, so no such object exists; the others are still deleted."""
    post(resourcifier_url, {"resources": [config_map("real", namespace)]})
    orphan = {"name": "orphan", "type": "Gizmo", "properties": {
        "apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "orphan"}}}
    body = {"resources": [orphan, config_map("real")], "namespace": namespace}
    response = post(resourcifier_url, body, method="DELETE")
    assert response.status_code == 200, response.text
    assert [r["state"]["status"] for r in response.json()["resources"]] == ["Deleted", "Deleted"]
    assert live_names(simulator, "configmaps", namespace) == []


def test_two_entries_for_one_object_are_rejected_on_delete(resourcifier_url, simulator, namespace):
    body = {"resources": [config_map("twin", namespace), config_map("twin") | {"name": "again"}],
            "namespace": namespace}
    post(resourcifier_url, {"resources": [config_map("twin", namespace)]})
    response = post(resourcifier_url, body, method="DELETE")
    assert response.status_code == 400
    assert "is the same object as resources[0]" in response.json()["message"]
    assert live_names(simulator, "configmaps", namespace) == ["twin"]
