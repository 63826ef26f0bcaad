"""The simulator's HTTP API directly: patch flavours, watch, discovery and hostile input."""

from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import yaml


def cm_path(namespace: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{namespace}/configmaps" + (f"/{name}" if name else "")


def create_cm(sim, namespace: str, name: str, data: dict | None = None) -> dict:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": data or {"a": "1"}}
    response = sim.api("POST", cm_path(namespace), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def assert_status(response, code: int, reason: str, message: str) -> None:
    assert response.status_code == code
    status = response.json()
    assert (status["kind"], status["status"], status["code"]) == ("Status", "Failure", code)
    assert status["reason"] == reason
    assert message in status["message"]


def test_discovery_lists_the_common_kinds_with_scope_and_short_names(sim):
    core = {r["name"]: r for r in sim.api("GET", "/api/v1").json()["resources"]}
    assert core["services"]["shortNames"] == ["svc"] and core["services"]["namespaced"]
    assert core["namespaces"]["namespaced"] is False
    assert "watch" in core["configmaps"]["verbs"]
    groups = {g["name"] for g in sim.api("GET", "/apis").json()["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "policy",
            "autoscaling", "apiextensions.k8s.io"} <= groups
    rbac = sim.api("GET", "/apis/rbac.authorization.k8s.io/v1").json()["resources"]
    assert {r["name"]: r["namespaced"] for r in rbac}["clusterroles"] is False


def test_merge_patch_strategic_patch_and_json_patch(sim, namespace):
    sim.kubectl("create", "deployment", "p", "--image=nginx", "-n", namespace)
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/p"
    strategic = {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "envoy"}]}}}}
    response = sim.api("PATCH", path, data=json.dumps(strategic),
                       headers={"Content-Type": "application/strategic-merge-patch+json"})
    containers = response.json()["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "sidecar"]
    response = sim.api("PATCH", path, data=json.dumps({"spec": {"replicas": 4}}),
                       headers={"Content-Type": "application/merge-patch+json"})
    assert response.json()["spec"]["replicas"] == 4
    operations = [{"op": "replace", "path": "/spec/replicas", "value": 2}]
    response = sim.api("PATCH", path, data=json.dumps(operations),
                       headers={"Content-Type": "application/json-patch+json"})
    assert response.json()["spec"]["replicas"] == 2


def test_a_patch_carrying_a_stale_resource_version_is_a_conflict(sim, namespace):
    created = create_cm(sim, namespace, "pinned")
    sim.kubectl("label", "cm", "pinned", "x=1", "-n", namespace)
    stale = {"metadata": {"resourceVersion": created["metadata"]["resourceVersion"]},
             "data": {"a": "2"}}
    response = sim.api("PATCH", cm_path(namespace, "pinned"), data=json.dumps(stale),
                       headers={"Content-Type": "application/merge-patch+json"})
    assert_status(response, 409, "Conflict", "the object has been modified")
    assert sim.get_json("cm", "pinned", "-n", namespace)["data"] == {"a": "1"}


def test_watch_streams_events_after_a_resource_version(sim, namespace):
    created = create_cm(sim, namespace, "w")
    version = created["metadata"]["resourceVersion"]
    sim.kubectl("delete", "cm", "w", "-n", namespace)
    response = sim.api("GET", cm_path(namespace), stream=True, params={
        "watch": "true", "resourceVersion": version, "timeoutSeconds": "1",
        "fieldSelector": "metadata.name=w"})
    events = [json.loads(line) for line in response.iter_lines() if line]
    assert [e["type"] for e in events] == ["DELETED"]
    assert events[0]["object"]["metadata"]["name"] == "w"


def test_watch_from_an_unreadable_version_is_400(sim, namespace):
    response = sim.api("GET", cm_path(namespace), params={"watch": "1", "resourceVersion": "x"})
    assert_status(response, 400, "BadRequest", "invalid resourceVersion")


def test_get_asks_for_a_table_and_gets_one(sim, namespace):
    create_cm(sim, namespace, "tabled")
    response = sim.api("GET", cm_path(namespace), headers={
        "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    table = response.json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert table["rows"][0]["cells"][:2] == ["tabled", 1]


def test_kubectl_get_counts_a_secrets_string_data_once_it_is_folded_into_data(sim, namespace):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
              "data": {"user": "YWRtaW4="}, "stringData": {"password": "hunter2", "user": "root"}}
    sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(secret))
    lines = sim.kubectl("get", "secrets", "-n", namespace).stdout.splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert lines[1].split()[:3] == ["creds", "Opaque", "2"]


def test_kubectl_get_prints_the_columns_of_a_cluster(sim, namespace):
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {
            "replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    sim.kubectl("apply", "-n", namespace, "-f", "-",
                stdin=yaml.safe_dump_all([deployment, service]))
    sim.kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=30s")
    deployments = sim.kubectl("get", "deployments", "-n", namespace).stdout.splitlines()
    assert deployments[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deployments[1].split()[:4] == ["web", "3/3", "3", "3"]
    services = sim.kubectl("get", "services", "-n", namespace).stdout.splitlines()
    assert services[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    name, kind, cluster_ip, external, ports, _ = services[1].split()
    assert (name, kind, external, ports) == ("web", "ClusterIP", "<none>", "80/TCP")
    assert cluster_ip.count(".") == 3


def test_delete_answers_a_success_status_and_deletecollection_honours_selectors(sim, namespace):
    keep = create_cm(sim, namespace, "keep")
    create_cm(sim, namespace, "drop")
    sim.kubectl("label", "cm", "drop", "doomed=yes", "-n", namespace)
    response = sim.api("DELETE", cm_path(namespace), params={"labelSelector": "doomed"})
    assert [i["metadata"]["name"] for i in response.json()["items"]] == ["drop"]
    response = sim.api("DELETE", cm_path(namespace, "keep"))
    status = response.json()
    assert (status["kind"], status["status"]) == ("Status", "Success")
    assert status["details"] == {"name": "keep", "kind": "configmaps",
                                 "uid": keep["metadata"]["uid"]}
    assert_status(sim.api("DELETE", cm_path(namespace, "keep")), 404, "NotFound",
                  'configmaps "keep" not found')


def test_an_invalid_object_is_422_naming_each_cause_and_stores_nothing(sim, namespace):
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments"
    body = {"metadata": {"name": "Bad_Name"},
            "spec": {"selector": {"matchLabels": {"app": "x"}},
                     "template": {"metadata": {"labels": {"app": "x"}},
                                  "spec": {"containers": [{"name": "x"}]}}}}
    response = sim.api("POST", path, json=body)
    assert_status(response, 422, "Invalid", 'Deployment.apps "Bad_Name" is invalid: [')
    details = response.json()["details"]
    assert (details["name"], details["kind"], details["group"]) == ("Bad_Name", "Deployment",
                                                                     "apps")
    assert [cause["field"] for cause in details["causes"]] == [
        "metadata.name", "spec.template.spec.containers[0].image"]
    assert sim.api("GET", path).json()["items"] == []


def test_scale_subresource_reads_and_sets_replicas(sim, namespace):
    sim.kubectl("create", "deployment", "sc", "--image=nginx", "-n", namespace)
    sim.kubectl("scale", "deployment", "sc", "--replicas=5", "-n", namespace)
    scale = sim.api("GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/sc/scale").json()
    assert scale["spec"]["replicas"] == 5
    assert scale["status"]["selector"] == "app=sc"


def test_scale_subresource_put_sets_replicas_and_refuses_a_negative_count(sim, namespace):
    sim.kubectl("create", "deployment", "put", "--image=nginx", "-n", namespace)
    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/put/scale"
    answer = sim.api("PUT", path, json={"spec": {"replicas": 3}})
    assert (answer.status_code, answer.json()["kind"], answer.json()["spec"]) == (
        200, "Scale", {"replicas": 3})
    assert_status(sim.api("PUT", path, json={"spec": {"replicas": -1}}), 422, "Invalid",
                  "spec.replicas: Invalid value: -1")
    assert_status(sim.api("PATCH", path, data="[]",
                          headers={"Content-Type": "application/json-patch+json"}),
                  422, "Invalid", "spec.replicas: Invalid value: None")
    assert sim.get_json("deploy", "put", "-n", namespace)["spec"]["replicas"] == 3


@pytest.mark.parametrize(
    ("body", "content_type", "code", "message"),
    [
        (b"{not json", "application/json", 400, "could not be decoded"),
        (b"\xff\xfe", "application/json", 400, "could not be decoded"),
        (b"[1, 2]", "application/json", 400, "is not a ConfigMap object"),
        (b'{"kind": "Secret", "metadata": {"name": "x"}}', "application/json", 400,
         "does not match the expected kind"),
        (b'{"metadata": {"name": "x", "namespace": "elsewhere"}}', "application/json", 400,
         "does not match the namespace"),
        (b"k8s\x00\x0a\x02\x08", "application/vnd.kubernetes.protobuf", 415, "protobuf"),
    ],
)
def test_undecodable_or_mismatched_bodies_are_rejected_and_store_nothing(
    sim, namespace, body, content_type, code, message
):
    response = sim.api("POST", cm_path(namespace), data=body,
                       headers={"Content-Type": content_type})
    assert response.status_code == code
    assert message in response.json()["message"]
    assert sim.api("GET", cm_path(namespace)).json()["items"] == []


def test_an_oversized_body_is_413(sim, namespace):
    response = sim.api("POST", cm_path(namespace), data=b"x" * (3 * 1024 * 1024 + 1),
                       headers={"Content-Type": "application/json"})
    assert_status(response, 413, "RequestEntityTooLarge", "larger than")


def test_unknown_paths_and_verbs_answer_status_objects(sim, namespace):
    assert_status(sim.api("GET", "/apis/nope.example.com/v1/things"), 404, "NotFound",
                  "could not find the requested resource")
    assert_status(sim.api("POST", cm_path(namespace, "named"), json={}), 405,
                  "MethodNotAllowed", "does not allow")
    assert_status(sim.api("PUT", cm_path(namespace), json={}), 405,
                  "MethodNotAllowed", "does not allow")
    assert_status(sim.api("GET", cm_path(namespace, "x") + "/status"), 404, "NotFound",
                  "could not find the requested resource")
    assert_status(sim.api("GET", f"/api/v1/namespaces/{namespace}/services/x/scale"), 404,
                  "NotFound", "could not find the requested resource")
    assert_status(sim.api("PATCH", cm_path(namespace, "x"), data="{}",
                          headers={"Content-Type": "text/plain"}), 415,
                  "UnsupportedMediaType", "unknown format")
    assert_status(sim.api("GET", cm_path(namespace), params={"labelSelector": "a in (b"}),
                  400, "BadRequest", "unable to parse requirement")
    assert_status(sim.api("GET", cm_path(namespace), params={"fieldSelector": "spec.x=1"}),
                  400, "BadRequest", "field label not supported")


def test_a_refused_request_with_a_body_leaves_its_connection_usable(sim):
    with requests.Session() as session:
        refused = session.post(f"{sim.url}/apis/nope.example.com/v1/things",
                               json={"padding": "x" * 1000})
        assert refused.status_code == 404
        assert session.get(f"{sim.url}/healthz").text == "ok"


def test_garbage_on_the_socket_does_not_take_the_server_down(sim):
    host, port = sim.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(b"\x00\x01 garbage \r\n\r\n")
        connection.recv(1024)
    assert sim.api("GET", "/healthz").text == "ok"


def test_server_side_apply_over_http_needs_a_field_manager(sim, namespace):
    body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: '1'}\n"
    response = sim.api("PATCH", cm_path(namespace, "ssa"), data=body,
                       headers={"Content-Type": "application/apply-patch+yaml"})
    assert_status(response, 422, "Invalid", "requires fieldManager")
    response = sim.api("PATCH", cm_path(namespace, "ssa"), data=body,
                       params={"fieldManager": "me"},
                       headers={"Content-Type": "application/apply-patch+yaml"})
    assert response.status_code == 201
    assert response.json()["data"] == {"a": "1"}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/api/v1/namespaces", {"metadata": {"name": "listy"}, "spec": []}, "spec: Invalid"),
        ("/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "c"}, "data": {"a": 1}},
         "data[a]"),
        ("/apis/apps/v1/namespaces/{ns}/deployments",
         {"metadata": {"name": "d"}, "spec": {"template": {"metadata": [1]}}},
         "a field has the wrong type"),
    ],
)
def test_fields_of_the_wrong_type_are_400_and_store_nothing(sim, namespace, path, body, message):
    response = sim.api("POST", path.format(ns=namespace), json=body)
    assert_status(response, 400, "BadRequest", "cannot be handled as a")
    assert message in response.json()["message"]
    name = body["metadata"]["name"]
    assert sim.api("GET", f"{path.format(ns=namespace)}/{name}").status_code == 404


def test_concurrent_writes_get_distinct_resource_versions(sim, namespace):
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda i: create_cm(sim, namespace, f"c{i}"), range(40)))
    versions = {int(obj["metadata"]["resourceVersion"]) for obj in created}
    assert len(versions) == 40
    assert len(sim.api("GET", cm_path(namespace)).json()["items"]) == 40


def test_watch_without_a_version_starts_with_the_current_objects(sim, namespace):
    create_cm(sim, namespace, "present")
    response = sim.api("GET", cm_path(namespace), stream=True,
                       params={"watch": "true", "timeoutSeconds": "1"})
    events = [json.loads(line) for line in response.iter_lines() if line]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "present")]


def test_generate_name_gives_a_unique_name(sim, namespace):
    body = {"metadata": {"generateName": "job-"}, "data": {}}
    names = {sim.api("POST", cm_path(namespace), json=body).json()["metadata"]["name"]
             for _ in range(3)}
    assert len(names) == 3 and all(n.startswith("job-") and len(n) == 9 for n in names)


def test_a_chunked_body_is_411_and_stores_nothing(sim, namespace):
    chunks = iter([b'{"metadata": {"name": "chunky"}}'])
    response = sim.api("POST", cm_path(namespace), data=chunks,
                       headers={"Content-Type": "application/json"})
    assert_status(response, 411, "LengthRequired", "Content-Length")
    assert sim.api("GET", cm_path(namespace, "chunky")).status_code == 404
