"""Bad input: 400 with a message that names the problem, and nothing applied."""

from __future__ import annotations

import pytest
import requests

from tests.contract.conftest import config_map


def test_body_that_is_not_json_is_rejected(backend):
    response = requests.post(f"{backend.url}/configurations", data="resources: [", timeout=30)
    assert response.status_code == 400
    assert response.json() == {
        "status": 400, "message": 'the request body is not JSON: send {"resources": [...]}'}


NO_RESOURCES = "the configuration has no resources: 'resources' must be a non-empty list"


@pytest.mark.parametrize("body, message", [
    ({}, NO_RESOURCES),
    ({"resources": []}, NO_RESOURCES),
    ({"resources": "a"}, NO_RESOURCES),
    ([], 'the body must be a JSON object {"resources": [...]}'),
])
def test_configuration_without_resources_is_rejected(backend, body, message):
    response = backend.request("POST", body)
    assert response.status_code == 400
    assert response.json() == {"status": 400, "message": message}


def test_object_without_a_name_is_rejected_and_nothing_is_applied(backend, namespace):
    nameless = config_map("second")
    del nameless["properties"]["metadata"]["name"]
    response = backend.apply([config_map("first"), nameless], namespace)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "resources[1] (resource 'second') has no metadata.name in its properties")
    assert backend.names("configmaps", namespace) == []


def test_unknown_kind_is_rejected_and_nothing_is_applied(backend, namespace):
    gizmo = {"name": "g", "type": "Gizmo", "properties": {
        "apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}}}
    response = backend.apply([config_map("first"), gizmo], namespace)
    assert response.status_code == 400
    assert "Gizmo" in response.json()["message"]
    assert backend.names("configmaps", namespace) == []


def test_two_entries_for_one_object_are_rejected(backend, namespace):
    response = backend.apply([config_map("twice"), config_map("twice", other="x")], namespace)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "resources[1] (resource 'twice') is the same object as resources[0] (resource 'twice'): "
        f"ConfigMap {namespace}/twice")
    assert backend.names("configmaps", namespace) == []


def test_dry_run_must_be_a_boolean(backend, namespace):
    response = backend.apply([config_map("a")], namespace, dryRun="maybe")
    assert response.status_code == 400
    assert response.json()["message"] == "dryRun must be true or false, not 'maybe'"
    assert backend.names("configmaps", namespace) == []
