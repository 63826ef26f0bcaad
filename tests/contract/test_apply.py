"""Create and update: every backend answers the same states for the same configurations."""

from __future__ import annotations

from tests.contract.conftest import config_map, deployment, service, states


def test_create_answers_201_with_each_resource_created(backend, namespace):
    response = backend.apply([config_map("settings"), deployment("web")], namespace)
    assert response.status_code == 201, response.text
    assert states(response) == ["Created", "Created"]
    assert backend.names("configmaps", namespace) == ["settings"]
    assert backend.names("deployments", namespace) == ["web"]


def test_created_resource_comes_back_with_its_live_object(backend, namespace):
    response = backend.apply([config_map("settings", color="red")], namespace)
    live = response.json()["resources"][0]["live"]
    assert live["metadata"]["uid"]
    assert live["metadata"]["namespace"] == namespace
    assert live["data"] == {"color": "red"}


def test_update_changes_the_live_object_and_keeps_its_identity(backend, namespace):
    first = backend.apply([config_map("settings", color="red")], namespace)
    second = backend.request("PUT", {"resources": [config_map("settings", color="blue")],
                                     "namespace": namespace})
    assert second.status_code == 201, second.text
    assert states(second) == ["Created"]
    live = backend.get("configmaps/settings", namespace).json()
    assert live["data"] == {"color": "blue"}
    assert live["metadata"]["uid"] == first.json()["resources"][0]["live"]["metadata"]["uid"]


def test_update_of_a_deployment_counts_a_new_generation(backend, namespace):
    backend.apply([deployment("web", replicas=1)], namespace)
    backend.apply([deployment("web", replicas=2)], namespace)
    live = backend.get("deployments/web", namespace).json()
    assert live["spec"]["replicas"] == 2
    assert live["metadata"]["generation"] == 2


def test_reapplying_an_unchanged_configuration_changes_nothing(backend, namespace):
    resources = [config_map("settings"), deployment("web"), service("web", "web")]
    first = backend.apply(resources, namespace).json()["resources"]
    second = backend.apply(resources, namespace)
    assert states(second) == ["Created"] * 3
    for before, after in zip(first, second.json()["resources"]):
        assert after["live"]["metadata"]["uid"] == before["live"]["metadata"]["uid"]
        assert after["live"]["metadata"].get("generation") == before["live"]["metadata"].get(
            "generation"
        )


def test_dry_run_validates_without_persisting(backend, namespace):
    response = backend.apply([config_map("settings")], namespace, dryRun="true")
    assert response.status_code == 201
    assert states(response) == ["Created"]
    assert backend.names("configmaps", namespace) == []


def test_invalid_object_fails_alone_and_is_not_stored(backend, namespace):
    bad = deployment("bad", labels={"app": "something-else"})
    response = backend.apply([config_map("a"), bad, config_map("b")], namespace)
    assert response.status_code == 201
    a, failed, b = response.json()["resources"]
    assert a["state"]["status"] == b["state"]["status"] == "Created"
    assert failed["state"]["status"] == "Failed"
    assert "selector" in " ".join(failed["state"]["errors"]).lower()
    assert "live" not in failed
    assert backend.names("deployments", namespace) == []


def test_object_in_a_missing_namespace_fails_alone(backend, namespace):
    elsewhere = config_map("b")
    elsewhere["properties"]["metadata"]["namespace"] = "ct-no-such-namespace"
    response = backend.apply([config_map("a"), elsewhere], namespace)
    assert states(response) == ["Created", "Failed"]
    assert "ct-no-such-namespace" in " ".join(response.json()["resources"][1]["state"]["errors"])
    assert backend.names("configmaps", namespace) == ["a"]


def test_every_state_is_one_of_the_contracts_values(backend, namespace):
    bad = deployment("bad", labels={"app": "other"})
    applied = backend.apply([config_map("a"), bad], namespace)
    deleted = backend.delete([config_map("a"), bad], namespace)
    assert set(states(applied)) | set(states(deleted)) <= {"Created", "Deleted", "Failed"}
    for resource in applied.json()["resources"] + deleted.json()["resources"]:
        assert isinstance(resource["state"]["errors"], list)
