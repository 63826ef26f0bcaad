"""Bad input: 400 with a message that names the problem, and nothing applied."""

from __future__ import annotations

import pytest
import requests

from tests.contract.conftest import config_map, deployment


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


def test_an_unknown_kind_fails_alone_and_the_others_carry_their_own_outcome(
    backend, namespace
):
    gizmo = {"name": "g", "type": "Gizmo", "properties": {
        "apiVersion": "example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}}}
    bad = deployment("bad", labels={"app": "something-else"})
    response = backend.apply([config_map("first"), gizmo, bad], namespace)
    assert response.status_code == 201
    first, unknown, invalid = response.json()["resources"]
    assert first["state"]["status"] == "Created"
    assert unknown["state"]["status"] == "Failed"
    [reason] = unknown["state"]["errors"]
    assert reason.startswith('no kind "Gizmo" is ')
    assert invalid["state"]["status"] == "Failed"
    assert "selector" in " ".join(invalid["state"]["errors"]).lower()
    assert backend.names("configmaps", namespace) == ["first"]


def test_a_misspelt_kind_gets_a_suggestion(backend, namespace):
    typo = {"name": "m", "type": "ConfigMaps", "properties": {
        "apiVersion": "v1", "kind": "ConfigMaps", "metadata": {"name": "m"}}}
    [answered] = backend.apply([typo], namespace).json()["resources"]
    [reason] = answered["state"]["errors"]
    assert reason.startswith('no kind "ConfigMaps" is ')
    assert reason.endswith('; did you mean "ConfigMap" (v1)?')


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
