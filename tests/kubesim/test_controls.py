"""Test controls: injected faults, added latency, request counts and reset."""

from __future__ import annotations

import time

import pytest
import requests


@pytest.fixture(autouse=True)
def clean_controls(sim):
    sim.control.clear_faults()
    sim.control.latency(0)
    yield
    sim.control.clear_faults()
    sim.control.latency(0)


def test_an_injected_fault_fails_that_kind_with_the_given_code_and_message(sim, namespace):
    sim.control.fail("ConfigMap", code=503, message="etcd is on fire", verbs=["create"])
    result = sim.kubectl("create", "configmap", "hot", "-n", namespace, check=False)
    assert result.returncode != 0
    assert "etcd is on fire" in result.stderr
    assert "not found" in sim.kubectl("get", "cm", "hot", "-n", namespace, check=False).stderr
    sim.kubectl("create", "secret", "generic", "other-kinds-work", "-n", namespace)


def test_a_fault_can_target_one_name_and_fire_a_limited_number_of_times(sim, namespace):
    sim.control.fail("configmaps", name="flaky", code=500, message="boom", times=1)
    first = sim.kubectl("create", "configmap", "flaky", "-n", namespace, check=False)
    assert "boom" in first.stderr
    sim.kubectl("create", "configmap", "steady", "-n", namespace)
    sim.kubectl("create", "configmap", "flaky", "-n", namespace)
    assert sim.control.requests()["faults"] == []


def test_latency_delays_api_requests(sim, namespace):
    sim.kubectl("create", "configmap", "slow", "-n", namespace)
    sim.control.latency(0.4)
    started = time.monotonic()
    response = sim.api("GET", f"/api/v1/namespaces/{namespace}/configmaps/slow")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert sim.api("GET", "/healthz").text == "ok"
    assert time.monotonic() - started < 0.4


def test_request_counts_are_reported_per_verb_and_kind(sim, namespace):
    before = sim.control.requests()
    sim.kubectl("create", "configmap", "counted", "-n", namespace)
    after = sim.control.requests()
    assert after["verbs"]["create"] == before["verbs"].get("create", 0) + 1
    assert after["byKind"]["create ConfigMap"] == before["byKind"].get("create ConfigMap", 0) + 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, '"kind"'),
        ({"kind": "ConfigMap", "code": 200}, '"code"'),
        ({"kind": "ConfigMap", "verbs": ["explode"]}, '"verbs"'),
        ({"kind": "ConfigMap", "times": 0}, '"times"'),
    ],
)
def test_bad_fault_requests_are_400_and_add_nothing(sim, body, message):
    response = sim.api("POST", "/_sim/faults", json=body)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert sim.control.requests()["faults"] == []


def test_bad_latency_is_400(sim):
    response = sim.api("POST", "/_sim/latency", json={"seconds": "soon"})
    assert response.status_code == 400
    assert response.json()["message"] == '"seconds" must be a number from 0 to 60'
    assert sim.control.requests()["latency"] == 0


def test_reset_forgets_objects_but_keeps_the_initial_namespaces(sim):
    sim.kubectl("create", "namespace", "ephemeral")
    sim.control.fail("Secret", code=500)
    sim.control.reset()
    names = sim.kubectl("get", "ns", "-o", "name").stdout.split()
    assert "namespace/ephemeral" not in names and "namespace/default" in names
    assert sim.control.requests()["faults"] == []


def test_the_client_raises_on_a_refused_control(sim):
    with pytest.raises(requests.HTTPError):
        sim.control.fail("ConfigMap", code=42)
