"""How many kubectl processes one request starts: one per batch in the normal case."""

from __future__ import annotations

import pytest
import requests

from tests.resourcifier.conftest import config_map, deployment, post


@pytest.fixture
def warm(counted, namespace):
    """The counted service after its first request, which also reads the cluster's kinds."""
    url, log = counted
    post(url, {"resources": [config_map("warm-up", namespace)]})
    log.clear()
    return url, log


def test_first_request_reads_the_kinds_once_then_applies_once(counted, namespace):
    url, log = counted
    post(url, {"resources": [config_map(f"c{i}") for i in range(5)], "namespace": namespace})
    verbs = [_verb(call) for call in log.calls()]
    assert verbs == ["api-resources", "apply"]


def test_a_batch_is_applied_with_one_kubectl(warm, namespace):
    url, log = warm
    body = {"resources": [config_map(f"c{i}") for i in range(20)], "namespace": namespace}
    response = post(url, body)
    assert {r["state"]["status"] for r in response.json()["resources"]} == {"Created"}
    assert [_verb(call) for call in log.calls()] == ["apply"]


def test_a_batch_is_deleted_with_one_kubectl(warm, namespace):
    url, log = warm
    body = {"resources": [config_map(f"c{i}") for i in range(20)], "namespace": namespace}
    post(url, body)
    log.clear()
    response = post(url, body, method="DELETE")
    assert {r["state"]["status"] for r in response.json()["resources"]} == {"Deleted"}
    assert [_verb(call) for call in log.calls()] == ["delete"]


def test_one_failure_costs_a_naming_pass_and_a_read_of_the_good_objects(warm, namespace):
    url, log = warm
    body = {"resources": [config_map("a"), deployment("bad", labels={"app": "x"}),
                          config_map("b")], "namespace": namespace}
    states = [r["state"]["status"] for r in post(url, body).json()["resources"]]
    assert states == ["Created", "Failed", "Created"]
    assert [_verb(call) for call in log.calls()] == ["apply", "apply", "get"]


def test_several_failures_are_applied_again_one_kubectl_each(warm, namespace):
    url, log = warm
    body = {"resources": [deployment("bad1", labels={"app": "x"}), config_map("a"),
                          deployment("bad2", labels={"app": "y"})], "namespace": namespace}
    states = [r["state"]["status"] for r in post(url, body).json()["resources"]]
    assert states == ["Failed", "Created", "Failed"]
    assert [_verb(call) for call in log.calls()] == ["apply"] * 4 + ["get"]


def test_the_status_of_a_batch_is_read_with_one_kubectl(warm, namespace):
    url, log = warm
    present = [config_map(f"c{i}") for i in range(10)]
    post(url, {"resources": present, "namespace": namespace})
    log.clear()
    body = {"resources": present + [config_map("absent"), deployment("web")],
            "namespace": namespace}
    response = requests.post(f"{url}/configurations/status", json=body, timeout=60)
    assert [r["health"]["status"] for r in response.json()["resources"]] == (
        ["Healthy"] * 10 + ["Missing", "Missing"])
    assert [_verb(call) for call in log.calls()] == ["get"]


def test_a_preview_reads_the_live_objects_once_and_dry_runs_once(warm, namespace):
    url, log = warm
    body = {"resources": [config_map(f"c{i}") for i in range(10)], "namespace": namespace}
    response = post(url, body, dryRun="true", diff="true")
    assert {r["state"]["status"] for r in response.json()["resources"]} == {"Created"}
    assert [_verb(call) for call in log.calls()] == ["get", "apply"]
    assert "--dry-run=server" in log.calls()[1].split()


def test_a_preview_with_a_failure_dry_runs_the_good_objects_again(warm, namespace):
    url, log = warm
    body = {"resources": [config_map("a"), deployment("bad", labels={"app": "x"}),
                          config_map("b")], "namespace": namespace}
    answered = post(url, body, dryRun="true", diff="true").json()["resources"]
    assert [r["dryRun"] and r["dryRun"]["metadata"]["name"] for r in answered] == [
        "a", None, "b"]
    assert [_verb(call) for call in log.calls()] == ["get", "apply", "apply", "apply"]


def test_reads_take_one_kubectl(warm, namespace):
    url, log = warm
    requests.get(f"{url}/configurations/configmaps/warm-up", params={"namespace": namespace},
                 timeout=30)
    requests.get(f"{url}/configurations/configmaps", params={"namespace": namespace}, timeout=30)
    assert [_verb(call) for call in log.calls()] == ["get", "get"]


def _verb(call: str) -> str:
    """The kubectl command of a logged call: the first word after the connection flags."""
    words = call.split()
    position = words.index("--cache-dir") + 2
    return words[position]
