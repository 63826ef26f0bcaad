"""POST and PUT /configurations: every resource applied, each with its own state."""

from __future__ import annotations

import json

import pytest
import requests

from tests.resourcifier.conftest import config_map, deployment, live_names, post
from tests.support import kubectl


def test_post_creates_every_resource_and_answers_201(resourcifier_url, simulator, namespace):
    body = {"resources": [config_map("a", namespace), deployment("web")], "namespace": namespace}
    response = post(resourcifier_url, body)
    assert response.status_code == 201, response.text
    resources = response.json()["resources"]
    assert [r["state"]["status"] for r in resources] == ["Created"] * 2
    assert [r["state"]["errors"] for r in resources] == [[], []]
    assert [r["properties"] for r in resources] == [r["properties"] for r in body["resources"]]
    assert live_names(simulator, "configmaps", namespace) == ["a"]
    assert live_names(simulator, "deployments", namespace) == ["web"]


def test_each_created_resource_comes_back_with_its_live_object(resourcifier_url, namespace):
    response = post(resourcifier_url, {"resources": [config_map("a", namespace)]})
    live = response.json()["resources"][0]["live"]
    assert live["metadata"]["uid"]
    assert live["metadata"]["namespace"] == namespace
    assert live["data"] == {"key": "value"}


def test_configuration_namespace_places_objects_that_name_none(
    resourcifier_url, simulator, namespace
):
    response = post(resourcifier_url, {"resources": [config_map("a")], "namespace": namespace})
    assert response.json()["resources"][0]["state"]["status"] == "Created"
    assert live_names(simulator, "configmaps", namespace) == ["a"]


def test_each_created_resource_comes_back_with_the_health_of_its_live_object(
    resourcifier_url, namespace
):
    body = {"resources": [config_map("a"), deployment("web")], "namespace": namespace}
    states = [r["state"] for r in post(resourcifier_url, body).json()["resources"]]
    assert states[0]["health"] == {"status": "Healthy", "message": "exists"}
    # The object as written, before any controller has rolled it out.
    assert states[1]["health"]["status"] == "Progressing"


@pytest.mark.parametrize("api_version, kind, message", [
    ("example.com/v1", "Gizmo",
     'no kind "Gizmo" is served by the cluster for apiVersion "example.com/v1"'),
    ("extensions/v1beta1", "Deployment",
     'no kind "Deployment" is served by the cluster for apiVersion "extensions/v1beta1"; '
     'did you mean apiVersion "apps/v1"?'),
    ("apps/v1", "Deploymnet",
     'no kind "Deploymnet" is served by the cluster for apiVersion "apps/v1"; '
     'did you mean "Deployment" (apps/v1)?'),
])
def test_a_kind_the_cluster_does_not_serve_fails_alone_saying_what_it_may_be(
    resourcifier_url, simulator, namespace, api_version, kind, message
):
    odd = config_map("odd")
    odd["properties"].update(apiVersion=api_version, kind=kind)
    body = {"resources": [config_map("a"), odd], "namespace": namespace}
    response = post(resourcifier_url, body)
    assert response.status_code == 201
    assert [r["state"] for r in response.json()["resources"]] == [
        {"status": "Created", "errors": [], "health": {"status": "Healthy", "message": "exists"}},
        {"status": "Failed", "errors": [message]},
    ]
    assert live_names(simulator, "configmaps", namespace) == ["a"]


def test_put_updates_existing_objects(resourcifier_url, simulator, namespace):
    post(resourcifier_url, {"resources": [config_map("a", namespace, color="red")]})
    response = post(
        resourcifier_url, {"resources": [config_map("a", namespace, color="blue")]}, method="PUT"
    )
    assert response.status_code == 201, response.text
    assert response.json()["resources"][0]["state"]["status"] == "Created"
    out = kubectl(simulator.kubeconfig, "get", "configmap", "a", "-n", namespace, "-o", "json")
    assert json.loads(out.stdout)["data"] == {"color": "blue"}


def test_namespace_in_the_batch_is_created_before_its_objects(resourcifier_url, simulator):
    name = "rt-fresh-namespace"
    body = {"resources": [
        config_map("inside", name),
        {"name": "ns", "type": "Namespace",
         "properties": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}},
    ]}
    response = post(resourcifier_url, body)
    assert [r["state"]["status"] for r in response.json()["resources"]] == ["Created", "Created"]
    assert live_names(simulator, "configmaps", name) == ["inside"]


def test_dry_run_validates_without_persisting(resourcifier_url, simulator, namespace):
    response = post(resourcifier_url, {"resources": [config_map("a", namespace)]}, dryRun="true")
    assert response.status_code == 201
    assert response.json()["resources"][0]["state"]["status"] == "Created"
    assert live_names(simulator, "configmaps", namespace) == []


def test_invalid_object_fails_with_the_clusters_reason_and_the_others_are_created(
    resourcifier_url, simulator, namespace
):
    bad = deployment("bad", labels={"app": "something-else"})
    body = {"resources": [config_map("a"), bad, config_map("b")], "namespace": namespace}
    response = post(resourcifier_url, body)
    assert response.status_code == 201
    a, failed, b = response.json()["resources"]
    assert a["state"]["status"] == b["state"]["status"] == "Created"
    assert failed["state"]["status"] == "Failed"
    assert any('"bad"' in error and "invalid" in error.lower()
               for error in failed["state"]["errors"]), failed["state"]
    assert "live" not in failed
    assert live_names(simulator, "configmaps", namespace) == ["a", "b"]
    assert live_names(simulator, "deployments", namespace) == []


def test_two_invalid_objects_each_carry_their_own_error(resourcifier_url, simulator, namespace):
    body = {"resources": [
        deployment("one", labels={"app": "x"}), config_map("fine"),
        deployment("two", labels={"app": "y"}),
    ], "namespace": namespace}
    one, fine, two = post(resourcifier_url, body).json()["resources"]
    assert fine["state"]["status"] == "Created"
    assert one["state"]["status"] == two["state"]["status"] == "Failed"
    assert '"one"' in " ".join(one["state"]["errors"])
    assert '"two"' not in " ".join(one["state"]["errors"])
    assert '"two"' in " ".join(two["state"]["errors"])
    assert '"one"' not in " ".join(two["state"]["errors"])
    assert live_names(simulator, "configmaps", namespace) == ["fine"]


def test_object_in_a_missing_namespace_fails_alone(resourcifier_url, simulator, namespace):
    body = {"resources": [config_map("a", namespace), config_map("b", "rt-no-such-namespace")]}
    a, b = post(resourcifier_url, body).json()["resources"]
    assert a["state"]["status"] == "Created"
    assert b["state"]["status"] == "Failed"
    assert "rt-no-such-namespace" in " ".join(b["state"]["errors"])


def test_kind_of_a_freshly_created_crd_is_accepted(resourcifier_url, simulator, namespace):
    crd = _crd("widgets", "Widget")
    widget = {"name": "w", "type": "Widget", "properties": {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 3}}}
    # The service has looked at the cluster's kinds before the CRD exists.
    post(resourcifier_url, {"resources": [config_map("warm", namespace)]})
    created = post(resourcifier_url, {"resources": [crd]})
    assert created.json()["resources"][0]["state"]["status"] == "Created", created.text
    response = post(resourcifier_url, {"resources": [widget], "namespace": namespace})
    assert response.status_code == 201, response.text
    assert response.json()["resources"][0]["state"]["status"] == "Created", response.text
    assert live_names(simulator, "widgets", namespace) == ["w"]


def test_injected_fault_fails_only_its_resource_with_its_own_message(
    resourcifier_url, simulator, namespace
):
    fault = {"kind": "ConfigMap", "name": "doomed", "namespace": namespace, "code": 500,
             "message": "disk on fire for doomed"}
    requests.post(f"{simulator.url}/_sim/faults", json=fault, timeout=10).raise_for_status()
    try:
        body = {"resources": [config_map("before"), config_map("doomed"), deployment("after")],
                "namespace": namespace}
        before, doomed, after = post(resourcifier_url, body).json()["resources"]
    finally:
        requests.delete(f"{simulator.url}/_sim/faults", timeout=10)
    assert [before["state"]["status"], after["state"]["status"]] == ["Created", "Created"]
    assert before["state"]["errors"] == after["state"]["errors"] == []
    assert before["live"]["metadata"]["uid"] and after["live"]["metadata"]["uid"]
    assert doomed["state"]["status"] == "Failed"
    assert doomed["state"]["errors"] == [
        "Error from server (InternalError): disk on fire for doomed"
    ]
    assert live_names(simulator, "configmaps", namespace) == ["before"]
    assert live_names(simulator, "deployments", namespace) == ["after"]


def test_injected_fault_on_delete_fails_only_its_resource(resourcifier_url, simulator, namespace):
    body = {"resources": [config_map("a"), config_map("stuck"), config_map("b")],
            "namespace": namespace}
    post(resourcifier_url, body)
    fault = {"kind": "configmaps", "name": "stuck", "verbs": ["delete"], "code": 409,
             "message": "stuck is locked"}
    requests.post(f"{simulator.url}/_sim/faults", json=fault, timeout=10).raise_for_status()
    try:
        a, stuck, b = post(resourcifier_url, body, method="DELETE").json()["resources"]
    finally:
        requests.delete(f"{simulator.url}/_sim/faults", timeout=10)
    assert a["state"]["status"] == b["state"]["status"] == "Deleted"
    assert stuck["state"]["status"] == "Failed"
    assert "stuck is locked" in " ".join(stuck["state"]["errors"])
    assert live_names(simulator, "configmaps", namespace) == ["stuck"]


def test_crd_and_its_custom_resources_apply_in_one_batch(resourcifier_url, simulator, namespace):
    crd = _crd("gadgets", "Gadget")
    gadget = {"name": "g", "type": "Gadget", "properties": {
        "apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}}
    response = post(resourcifier_url, {"resources": [gadget, crd], "namespace": namespace})
    assert response.status_code == 201, response.text
    states = [r["state"] for r in response.json()["resources"]]
    # A CRD the simulator accepts is established at once; a custom resource just exists.
    assert states == [
        {"status": "Created", "errors": [], "health": {"status": "Healthy", "message": "exists"}},
        {"status": "Created", "errors": [],
         "health": {"status": "Healthy", "message": "established"}},
    ]
    assert live_names(simulator, "gadgets", namespace) == ["g"]


def _crd(plural: str, kind: str) -> dict:
    """A Resource holding a namespaced CustomResourceDefinition in group example.com."""
    return {"name": f"{plural}-crd", "type": "CustomResourceDefinition", "properties": {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {
                              "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
        },
    }}


def test_server_error_that_speaks_of_a_connection_fails_only_its_resource(
    resourcifier_url, simulator, namespace
):
    """Like an admission webhook that cannot be called: the cluster itself answered."""
    fault = {"kind": "ConfigMap", "name": "hooked", "code": 500, "message":
             'failed calling webhook "check.example.com": dial tcp 10.0.0.9:443: '
             "connect: connection refused"}
    requests.post(f"{simulator.url}/_sim/faults", json=fault, timeout=10).raise_for_status()
    try:
        body = {"resources": [config_map("fine"), config_map("hooked")], "namespace": namespace}
        response = post(resourcifier_url, body)
    finally:
        requests.delete(f"{simulator.url}/_sim/faults", timeout=10)
    assert response.status_code == 201, response.text
    fine, hooked = response.json()["resources"]
    assert fine["state"]["status"] == "Created"
    assert hooked["state"]["status"] == "Failed"
    assert "failed calling webhook" in hooked["state"]["errors"][0]
