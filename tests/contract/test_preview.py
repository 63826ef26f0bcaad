"""Previews (`?dryRun=true&diff=true`): each resource's live object beside what the runtime
would store, and nothing persisted."""

from __future__ import annotations

from tests.contract.conftest import config_map, deployment


def preview(backend, resources, namespace):
    response = backend.apply(resources, namespace, dryRun="true", diff="true")
    assert response.status_code == 200, response.text
    return response.json()["resources"]


def test_a_new_object_has_no_live_object_and_its_dry_run_result(backend, namespace):
    [answered] = preview(backend, [config_map("settings", color="red")], namespace)
    assert answered["state"]["status"] == "Created"
    assert answered["live"] is None
    assert answered["health"]["status"] == "Missing"
    assert answered["dryRun"]["data"] == {"color": "red"}
    assert answered["dryRun"]["metadata"]["namespace"] == namespace
    assert backend.names("configmaps", namespace) == []


def test_a_changed_object_shows_the_live_one_and_the_one_it_would_become(backend, namespace):
    applied = backend.apply([config_map("settings", color="red")], namespace).json()
    uid = applied["resources"][0]["live"]["metadata"]["uid"]
    [answered] = preview(backend, [config_map("settings", color="blue")], namespace)
    assert answered["live"]["data"] == {"color": "red"}
    assert answered["dryRun"]["data"] == {"color": "blue"}
    assert answered["dryRun"]["metadata"]["uid"] == uid
    assert backend.get("configmaps/settings", namespace).json()["data"] == {"color": "red"}


def test_an_invalid_object_fails_alone_in_a_preview(backend, namespace):
    bad = deployment("bad", labels={"app": "something-else"})
    good, failed = preview(backend, [config_map("a"), bad], namespace)
    assert good["dryRun"]["metadata"]["name"] == "a"
    assert failed["state"]["status"] == "Failed"
    assert "selector" in " ".join(failed["state"]["errors"]).lower()
    assert failed["dryRun"] is None
    assert failed["live"] is None


def test_a_diff_needs_a_dry_run(backend, namespace):
    response = backend.apply([config_map("a")], namespace, diff="true")
    assert response.status_code == 400
    assert response.json()["message"] == (
        "diff=true needs dryRun=true: a diff previews, it never applies")
    assert backend.names("configmaps", namespace) == []


def test_diff_must_be_a_boolean(backend, namespace):
    response = backend.apply([config_map("a")], namespace, dryRun="true", diff="yes please")
    assert response.status_code == 400
    assert response.json()["message"] == "diff must be true or false, not 'yes please'"
