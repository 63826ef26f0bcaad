"""How operations run: health waits per level, deadlines, atomic changes — over in-process
stand-ins of the expander and resourcifier and a real SQLite repository."""

from __future__ import annotations

from dataclasses import replace

from manager.workflow import Delete
from tests.manager.helpers import config_map, service, template


def start(client, method, path, body=None):
    response = client.open(path, method=method, json=body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def test_a_level_is_applied_only_after_the_level_it_references_is_healthy(client, fakes):
    cfg = config_map("cfg", {"ip": "$(ref.web.spec.clusterIP)"})
    operation = start(client, "POST", "/deployments", template("app", cfg, service("web")))
    assert operation["status"] == "Succeeded"
    calls = [call for call in fakes.resourcifier.calls if call[1] != ["default"]]
    assert calls == [
        ("apply", ["web"]),
        ("status", ["web"]),
        ("apply", ["cfg"]),
        ("status", ["cfg"]),
    ]
    waits = [step for step in operation["steps"] if step["action"] == "wait"]
    assert [(step["resource"], step["status"]) for step in waits] == [
        ("cfg", "Succeeded"),
        ("web", "Succeeded"),
    ]
    deployment = client.get("/deployments/app").get_json()
    assert deployment["health"] == {"status": "Healthy", "message": "2 resources healthy"}


def test_what_the_apply_answer_finds_healthy_is_not_asked_about_again(client, fakes):
    fakes.resourcifier.health_on_apply = True
    fakes.resourcifier.unhealthy = {"web": "0/1 replicas available"}
    body = template("app", config_map("a"), service("web"), options={"timeout": 0.3})
    operation = start(client, "POST", "/deployments", body)
    assert operation["errors"] == ["resource 'web': web: 0/1 replicas available after 0.3 s"]
    # Only `web`, which the apply answer found progressing, is read until the deadline.
    reads = {tuple(names) for call, names in fakes.resourcifier.calls if call == "status"}
    assert reads == {("web",)}
    waits = {step["resource"]: step["status"] for step in operation["steps"]}
    assert waits == {"a": "Succeeded", "web": "Failed"}


def test_a_wait_settled_by_the_apply_answer_still_starts_then_succeeds(client, fakes):
    fakes.resourcifier.health_on_apply = True
    parked = start(client, "POST", "/deployments", template("app", config_map("a")))
    events = [
        (event["step"]["action"], event["step"]["status"])
        for _, event in fakes.repository.events_since(parked["id"], 0)
        if event["type"] == "step"
    ]
    assert events == [
        ("apply", "Running"),
        ("apply", "Succeeded"),
        ("wait", "Running"),
        ("wait", "Succeeded"),
    ]
    assert [call[0] for call in fakes.resourcifier.calls] == ["apply", "apply"]


def test_a_resource_not_healthy_by_the_deadline_fails_the_operation_with_its_message(client, fakes):
    fakes.resourcifier.unhealthy = {"web": "1/3 replicas available"}
    body = template("app", service("web"), options={"timeout": 0.3})
    operation = start(client, "POST", "/deployments", body)
    assert operation["status"] == "Failed"
    assert operation["errors"] == ["resource 'web': web: 1/3 replicas available after 0.3 s"]
    wait = next(step for step in operation["steps"] if step["action"] == "wait")
    assert wait["status"] == "Failed"
    deployment = client.get("/deployments/app").get_json()
    assert deployment["state"]["status"] == "Failed"
    assert deployment["health"] == {"status": "Progressing", "message": "1/3 replicas available"}


def test_without_waiting_no_health_is_read(client, fakes):
    fakes.resourcifier.unhealthy = {"web": "0/3 replicas available"}
    operation = start(client, "POST", "/deployments?wait=false", template("app", service("web")))
    assert operation["status"] == "Succeeded"
    assert [step["action"] for step in operation["steps"]] == ["apply"]
    assert [call[0] for call in fakes.resourcifier.calls] == ["apply", "apply"]


def test_a_timeout_that_is_not_a_positive_duration_is_refused(client, fakes):
    for value in ("0", "-5", "soon", "5x"):
        response = client.post(f"/deployments?timeout={value}", json=template("app"))
        assert response.get_json() == {
            "status": 400,
            "message": "'query.timeout' must be a positive duration in seconds or like "
            f"90s, 5m, 1h (got {value!r})",
        }
    body = template("app", options={"timeout": 0})
    assert client.post("/deployments", json=body).status_code == 400
    assert client.get("/deployments").get_json() == []
    assert fakes.resourcifier.calls == []


def test_a_failed_atomic_update_goes_back_to_the_last_successful_revision(client, fakes):
    start(client, "POST", "/deployments", template("app", config_map("a"), config_map("b")))
    fakes.resourcifier.reject = {"c"}
    body = template("app", config_map("a", {"v": "2"}), config_map("c"))
    operation = start(client, "PUT", "/deployments/app?atomic=true", body)
    assert operation["status"] == "Failed"
    assert operation["errors"] == ["resource 'c': c is invalid", "rolled back to revision 1"]
    rollback_steps = [step for step in operation["steps"] if step.get("phase") == "rollback"]
    assert {(step["resource"], step["action"]) for step in rollback_steps} >= {
        ("a", "apply"),
        ("b", "apply"),
    }
    deployment = client.get("/deployments/app").get_json()
    assert deployment["state"] == {"status": "Deployed", "errors": []}
    assert deployment["revision"] == 1
    assert fakes.resourcifier.names("ConfigMap") == {"a", "b"}
    assert fakes.resourcifier.objects[("ConfigMap", "default", "a")]["data"] == {}


def test_a_failed_atomic_create_deletes_what_it_applied_and_the_deployment(client, fakes):
    fakes.resourcifier.reject = {"b"}
    body = template("app", config_map("a"), config_map("b"), options={"atomic": True})
    operation = start(client, "POST", "/deployments", body)
    assert operation["status"] == "Failed"
    assert operation["errors"] == [
        "resource 'b': b is invalid",
        "rolled back: its objects were deleted",
    ]
    assert fakes.resourcifier.names("ConfigMap") == set()
    assert client.get("/deployments/app").status_code == 404
    assert client.get(f"/operations/{operation['id']}").get_json()["status"] == "Failed"


def test_sync_applies_every_resource_again(client, fakes):
    start(client, "POST", "/deployments", template("app", config_map("a"), config_map("b")))
    fakes.resourcifier.objects.pop(("ConfigMap", "default", "b"))
    fakes.resourcifier.applied.clear()
    operation = start(client, "POST", "/deployments/app/sync")
    assert operation["type"] == "sync"
    assert operation["status"] == "Succeeded"
    assert fakes.resourcifier.applied == [["a", "b"]]
    assert fakes.resourcifier.names("ConfigMap") == {"a", "b"}
    assert client.get("/deployments/app").get_json()["revision"] == 1


def test_an_update_applies_only_what_changed_or_drifted(client, fakes):
    resources = [config_map(name, {"v": "1"}) for name in ("a", "b", "c")]
    start(client, "POST", "/deployments", template("app", *resources))
    fakes.resourcifier.objects.pop(("ConfigMap", "default", "c"))  # deleted behind DM's back
    fakes.resourcifier.applied.clear()
    changed = [
        config_map("a", {"v": "2"}),
        config_map("b", {"v": "1"}),
        config_map("c", {"v": "1"}),
    ]
    operation = start(client, "PUT", "/deployments/app", template("app", *changed))
    assert operation["status"] == "Succeeded"
    assert fakes.resourcifier.applied == [["a", "c"]]
    manifest = client.get("/deployments/app/manifests/2").get_json()
    states = {
        item["name"]: item["state"]["status"] for item in manifest["expandedConfig"]["resources"]
    }
    assert states == {"a": "Created", "b": "Unchanged", "c": "Created"}
    apply_steps = {
        step["resource"]: step["message"]
        for step in operation["steps"]
        if step["action"] == "apply"
    }
    assert apply_steps == {"a": "Created", "b": "Unchanged", "c": "Created"}


def in_namespace(resource: dict, namespace: str) -> dict:
    resource["properties"]["metadata"]["namespace"] = namespace
    return resource


def test_an_update_that_finds_its_objects_live_does_not_look_for_their_namespace(client, fakes):
    resources = [config_map("a", {"v": "1"}), config_map("b", {"v": "1"})]
    start(client, "POST", "/deployments", template("app", *resources))
    fakes.resourcifier.reads.clear()
    # `b`, unchanged, is read live in the deployment's namespace: that namespace exists.
    changed = [config_map("a", {"v": "2"}), in_namespace(config_map("b", {"v": "1"}), "default")]
    start(client, "PUT", "/deployments/app", template("app", *changed))
    fakes.resourcifier.reads.clear()
    changed[0] = config_map("a", {"v": "3"})
    operation = start(client, "PUT", "/deployments/app", template("app", *changed))
    assert operation["status"] == "Succeeded"
    assert fakes.resourcifier.applied[-1] == ["a"]
    assert fakes.resourcifier.reads == []


def test_an_update_creates_the_namespace_again_when_it_is_gone(client, fakes):
    start(client, "POST", "/deployments", template("app", config_map("a"), config_map("b")))
    # The namespace was deleted, and every object in it.
    fakes.resourcifier.objects.clear()
    fakes.resourcifier.applied.clear()
    fakes.resourcifier.reads.clear()
    operation = start(client, "PUT", "/deployments/app", template("app", config_map("a")))
    assert operation["status"] == "Succeeded"
    assert fakes.resourcifier.reads == [("Namespace", "default")]
    assert fakes.resourcifier.applied == [["default"], ["a"]]
    assert fakes.resourcifier.names("ConfigMap") == {"a"}


def test_an_update_that_changes_nothing_still_makes_sure_of_its_namespace(client, fakes):
    body = template("app", in_namespace(config_map("a", {"v": "1"}), "other"))
    start(client, "POST", "/deployments", body)
    fakes.resourcifier.objects.pop(("Namespace", "", "default"))
    fakes.resourcifier.applied.clear()
    operation = start(client, "PUT", "/deployments/app", body)
    assert operation["status"] == "Succeeded"
    # Nothing applied, nothing read in the deployment's namespace: it is created again.
    assert fakes.resourcifier.applied == [["default"]]


def test_dropping_a_field_applies_the_object_again(client, fakes):
    start(client, "POST", "/deployments", template("app", config_map("a", {"x": "1", "y": "2"})))
    fakes.resourcifier.applied.clear()
    start(client, "PUT", "/deployments/app", template("app", config_map("a", {"x": "1"})))
    assert fakes.resourcifier.applied == [["a"]]


def test_a_template_type_no_import_supplies_is_named_with_the_closest_import(client, fakes):
    body = template("app", {"name": "web", "type": "replicated_servce.py", "properties": {}})
    body["imports"] = [{"name": "replicated_service.py", "content": "x"}]
    response = client.post("/deployments", json=body)
    assert response.get_json() == {
        "status": 400,
        "message": "resource 'web': no import named replicated_servce.py; "
        "did you mean replicated_service.py?",
    }
    assert client.get("/deployments").get_json() == []


def test_expand_shows_primitives_that_are_not_kubernetes_objects_with_a_warning(client, fakes):
    odd = {"name": "vm", "type": "compute.v1.instance", "properties": {"zone": "us-a"}}
    response = client.post("/expand", json=template("app", odd, config_map("a")))
    assert response.status_code == 200
    body = response.get_json()
    assert [item["name"] for item in body["config"]["resources"]] == ["vm", "a"]
    assert body["warnings"] == [
        "resource 'vm' (type 'compute.v1.instance') is not a Kubernetes object: it lacks "
        "apiVersion, kind, metadata.name (deploying it would fail)"
    ]
    assert client.post("/deployments", json=template("app", odd)).status_code == 400


def test_a_delete_lists_its_steps_from_the_start_in_reverse_dependency_order(client, fakes):
    cfg = config_map("cfg", {"ip": "$(ref.web.spec.clusterIP)"})
    start(client, "POST", "/deployments", template("app", service("web"), cfg))
    parked = Delete(replace(fakes, runner=None)).start("app")
    assert [(step.resource, step.status) for step in parked.steps] == [
        ("cfg", "Pending"),
        ("web", "Pending"),
    ]
    fakes.runner.submit(parked.id)
    operation = client.get(f"/operations/{parked.id}").get_json()
    assert operation["type"] == "delete"
    assert operation["progress"] == {"total": 2, "done": 2}
    assert [(step["resource"], step["action"], step["status"]) for step in operation["steps"]] == [
        ("cfg", "delete", "Succeeded"),
        ("web", "delete", "Succeeded"),
    ]
    assert fakes.resourcifier.deleted == [["cfg"], ["web"]]
