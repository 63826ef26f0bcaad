"""Previews and drift on the simulator with the real resourcifier and kubectl: see a
change before it happens, apply exactly it, and know when the cluster moved."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_health import web
from tests.manager.conftest import start_manager
from tests.manager.test_e2e_workflow import config_map, live, template
from tests.support import kubectl


@pytest.fixture
def dm(request, tmp_path, simulator, expander_url, resourcifier_url):
    return start_manager(request, tmp_path, simulator, expander_url, resourcifier_url)


def deployment(replicas: int) -> dict:
    return web("nginx:1.25", replicas)


def service() -> dict:
    return {
        "name": "svc",
        "type": "Service",
        "properties": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "svc"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        },
    }


def body(namespace: str, *resources: dict) -> dict:
    return {**template("app", namespace, *resources), "options": {"wait": False}}


def test_a_previewed_update_shows_exactly_its_changes_and_applying_makes_them(dm, namespace):
    created = dm.api(
        "POST", "/deployments?wait=true", json=body(namespace, deployment(1), config_map("cfg"))
    )
    assert created.json()["state"]["status"] == "Deployed", created.text
    changed = body(namespace, deployment(2), service())
    response = dm.api("PUT", "/deployments/app?preview=true", json=changed)
    assert response.status_code == 200, response.text
    plan = {line["resource"]: line for line in response.json()["plan"]}
    assert {name: line["action"] for name, line in plan.items()} == {
        "web": "update",
        "svc": "create",
        "cfg": "delete",
    }
    diff = plan["web"]["diff"]
    assert "-  replicas: 1\n+  replicas: 2\n" in diff
    assert "resourceVersion" not in diff and "managedFields" not in diff
    # Nothing changed on the cluster.
    assert live(dm, "deployment", namespace, "web")["spec"]["replicas"] == 1
    assert live(dm, "configmap", namespace, "cfg") is not None
    assert live(dm, "service", namespace, "svc") is None

    applied = dm.api("POST", "/deployments/app/preview/apply?wait=true")
    assert applied.json()["state"]["status"] == "Deployed", applied.text
    assert live(dm, "deployment", namespace, "web")["spec"]["replicas"] == 2
    assert live(dm, "configmap", namespace, "cfg") is None
    assert live(dm, "service", namespace, "svc") is not None


def test_a_change_between_preview_and_apply_is_a_conflict(dm, namespace):
    dm.api("POST", "/deployments?wait=true", json=body(namespace, deployment(1)))
    dm.api("PUT", "/deployments/app?preview=true", json=body(namespace, deployment(3)))
    dm.api("PUT", "/deployments/app?wait=true", json=body(namespace, deployment(2)))
    response = dm.api("POST", "/deployments/app/preview/apply")
    assert response.status_code == 409
    assert response.json()["message"].startswith('deployment "app" changed since the preview')
    assert live(dm, "deployment", namespace, "web")["spec"]["replicas"] == 2


def test_drift_finds_deleted_and_edited_objects_and_sync_repairs_them(dm, namespace):
    resources = (service(), config_map("cfg", mode="fast"))
    dm.api("POST", "/deployments?wait=true", json=body(namespace, *resources))
    assert dm.api("GET", "/deployments/app/drift").json()["sync"] == "InSync"
    kubectl(dm.kubeconfig, "delete", "service", "svc", "-n", namespace)
    patch = json.dumps({"data": {"mode": "slow"}})
    kubectl(dm.kubeconfig, "patch", "configmap", "cfg", "-n", namespace, "-p", patch)
    drift = dm.api("GET", "/deployments/app/drift").json()
    statuses = {item["resource"]: item["status"] for item in drift["resources"]}
    assert statuses == {"svc": "Missing", "cfg": "Modified"}
    modified = next(item for item in drift["resources"] if item["resource"] == "cfg")
    assert "-  mode: slow\n+  mode: fast\n" in modified["diff"]
    assert dm.api("GET", "/deployments/app").json()["sync"] == "OutOfSync"

    synced = dm.api("POST", "/deployments/app/sync?wait=true")
    assert synced.json()["state"]["status"] == "Deployed", synced.text
    assert dm.api("GET", "/deployments/app/drift").json()["sync"] == "InSync"
    assert live(dm, "configmap", namespace, "cfg")["data"] == {"mode": "fast"}
