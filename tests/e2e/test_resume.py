"""Two manager replicas on one PostgreSQL database: when the one running an operation is
killed (-9) mid-way, the other resumes it, and afterwards the deployment, its latest
manifest and the cluster agree exactly."""

from __future__ import annotations

import json

import pytest

from tests.manager.conftest import Manager, _postgres_schema_url
from tests.manager.test_e2e_workflow import config_map, sim, template
from tests.support import kubectl, manager_flags, start_service, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

LEVELS = 5
PER_LEVEL = 10
LEASE = "2"


def leveled(version: str, skip: int = -1) -> list[dict]:
    """LEVELS × PER_LEVEL ConfigMaps; each of level L references one of level L-1.

    `skip` leaves out the last ConfigMap of that level (an update drops it)."""
    resources = []
    for level in range(LEVELS):
        for index in range(PER_LEVEL):
            if level == skip and index == PER_LEVEL - 1:
                continue
            data = {"version": version}
            if level:
                data["up"] = f"$(ref.l{level - 1}-0.metadata.name)"
            resources.append(config_map(f"l{level}-{index}", **data))
    return resources


@pytest.fixture
def replicas(request, tmp_path, simulator, expander_url, resourcifier_url):
    """Two managers (A and B) sharing one PostgreSQL schema, with short leases."""
    database = _postgres_schema_url(request)
    made = []
    for name in ("a", "b"):
        workdir = tmp_path / name
        workdir.mkdir()
        flags = manager_flags(workdir, expander_url, resourcifier_url) + [
            "--database-url",
            database,
            "--operation-lease-seconds",
            LEASE,
        ]
        process, url = start_service("manager", workdir, flags)
        made.append(Manager(url, process, flags, workdir, simulator.kubeconfig, simulator.url))
    yield made
    sim(made[0], "POST", "latency", {"seconds": 0})
    for manager in made:
        manager.process.stop()


def done_steps(manager: Manager, operation_id: str) -> int:
    steps = manager.api("GET", f"/operations/{operation_id}").json()["steps"]
    return sum(1 for step in steps if step["status"] == "Succeeded")


def ended(manager: Manager, operation_id: str) -> dict | None:
    operation = manager.api("GET", f"/operations/{operation_id}").json()
    return operation if operation["endedAt"] else None


def cluster_objects(manager: Manager, namespace: str) -> dict[str, dict]:
    result = kubectl(manager.kubeconfig, "get", "configmaps", "-n", namespace, "-o", "json")
    return {item["metadata"]["name"]: item["data"] for item in json.loads(result.stdout)["items"]}


def assert_record_matches_cluster(manager: Manager, namespace: str) -> None:
    deployment = manager.api("GET", "/deployments/app").json()
    assert deployment["state"] == {"status": "Deployed", "errors": []}
    manifest = manager.api(
        "GET", f"/deployments/app/manifests/{deployment['latestManifest']}"
    ).json()
    recorded = {
        item["name"]: item["properties"]["data"]
        for item in manifest["expandedConfig"]["resources"]
        if item["state"]["status"] == "Created"
    }
    assert len(recorded) == len(manifest["expandedConfig"]["resources"])
    assert cluster_objects(manager, namespace) == recorded


def run_and_kill(replicas, method: str, path: str, body, kill_after: int) -> dict:
    """Start a change on A, kill A once `kill_after` steps succeeded, let B finish it."""
    owner, other = replicas
    response = owner.api(method, path, json=body)
    assert response.status_code == 202, response.text
    operation_id = response.json()["id"]
    wait_until(lambda: done_steps(owner, operation_id) >= kill_after, timeout=60)
    owner.process.kill()
    finished = wait_until(lambda: ended(other, operation_id), timeout=120)
    owner.restart()
    return finished


@pytest.mark.parametrize("kill_after", [3, 27])
def test_the_other_replica_finishes_deploy_update_and_delete(replicas, namespace, kill_after):
    first, other = replicas
    sim(first, "POST", "latency", {"seconds": 0.03})
    deployed = run_and_kill(
        replicas, "POST", "/deployments", template("app", namespace, *leveled("1")), kill_after
    )
    assert deployed["status"] == "Succeeded", deployed["errors"]
    assert_record_matches_cluster(other, namespace)

    changed = template("app", namespace, *leveled("2", skip=2))
    updated = run_and_kill(replicas, "PUT", "/deployments/app", changed, kill_after)
    assert updated["status"] == "Succeeded", updated["errors"]
    assert_record_matches_cluster(other, namespace)
    assert "l2-9" not in cluster_objects(other, namespace)

    deleted = run_and_kill(replicas, "DELETE", "/deployments/app", None, min(kill_after, 20))
    assert deleted["status"] == "Succeeded", deleted["errors"]
    assert other.api("GET", "/deployments/app").status_code == 404
    assert cluster_objects(other, namespace) == {}
