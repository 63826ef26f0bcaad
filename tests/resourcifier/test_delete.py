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
