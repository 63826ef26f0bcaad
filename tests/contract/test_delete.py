"""Delete: objects go, an object already gone counts as deleted."""

from __future__ import annotations

from tests.contract.conftest import config_map, deployment, namespace_resource, states


def test_delete_removes_every_object_and_answers_200(backend, namespace):
    resources = [config_map("settings"), deployment("web")]
    backend.apply(resources, namespace)
    response = backend.delete(resources, namespace)
    assert response.status_code == 200, response.text
    assert states(response) == ["Deleted", "Deleted"]
    assert backend.names("configmaps", namespace) == []
    assert backend.names("deployments", namespace) == []
    assert backend.get("deployments/web", namespace).status_code == 404


def test_object_already_gone_counts_as_deleted(backend, namespace):
    response = backend.delete([config_map("never-made")], namespace)
    assert response.status_code == 200
    assert states(response) == ["Deleted"]


def test_delete_leaves_other_objects_alone(backend, namespace):
    backend.apply([config_map("keep"), config_map("drop")], namespace)
    backend.delete([config_map("drop")], namespace)
    assert backend.names("configmaps", namespace) == ["keep"]


def test_dry_run_delete_keeps_the_object(backend, namespace):
    backend.apply([config_map("settings")], namespace)
    response = backend.delete([config_map("settings")], namespace, dryRun="true")
    assert states(response) == ["Deleted"]
    assert backend.names("configmaps", namespace) == ["settings"]


def test_namespace_and_its_objects_come_and_go_in_one_batch(backend, namespace):
    name = f"{namespace}-inner"
    inner = config_map("inside")
    inner["properties"]["metadata"]["namespace"] = name
    created = backend.apply([namespace_resource(name), inner], namespace)
    assert states(created) == ["Created", "Created"]
    assert backend.names("configmaps", name) == ["inside"]
    deleted = backend.delete([inner, namespace_resource(name)], namespace)
    assert states(deleted) == ["Deleted", "Deleted"]
    assert backend.get(f"namespaces/{name}").status_code == 404


def test_object_of_a_kind_the_backend_does_not_serve_counts_as_deleted(backend, namespace):
    gizmo = {"name": "g", "type": "Gizmo", "properties": {
        "apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}}}
    backend.apply([config_map("keep")], namespace)
    response = backend.delete([gizmo, config_map("keep")], namespace)
    assert response.status_code == 200, response.text
    assert states(response) == ["Deleted", "Deleted"]
    assert backend.names("configmaps", namespace) == []
