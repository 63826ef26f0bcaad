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
