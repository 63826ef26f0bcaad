"""Previews (see a change before it happens, apply exactly it) and drift (know when the
cluster moved) over in-process stand-ins and a real SQLite repository."""

from __future__ import annotations

from tests.manager.helpers import config_map, service, template
from tests.manager.test_workflow import start


def deployment_of(client, *resources):
    start(client, "POST", "/deployments", template("app", *resources))
    return client.get("/deployments/app").get_json()


def plan_of(response):
    assert response.status_code == 200, response.get_json()
    return {line["resource"]: line["action"] for line in response.get_json()["plan"]}


def test_previewing_an_update_plans_update_delete_create_and_changes_nothing(client, fakes):
    deployment_of(client, config_map("keep"), config_map("change", {"v": "1"}), config_map("gone"))
    fakes.resourcifier.calls.clear()
    body = template("app", config_map("keep"), config_map("change", {"v": "2"}), service("web"))
    response = client.put("/deployments/app?preview=true", json=body)
    assert plan_of(response) == {
        "keep": "unchanged",
        "change": "update",
        "web": "create",
        "gone": "delete",
    }
    lines = {line["resource"]: line for line in response.get_json()["plan"]}
    assert "-  v: '1'\n+  v: '2'\n" in lines["change"]["diff"]
    assert lines["web"]["diff"].startswith("--- live/web\n+++ desired/web\n")
    assert lines["gone"] == {
        "resource": "gone",
        "kind": "ConfigMap",
        "namespace": "default",
        "name": "gone",
        "action": "delete",
        "diff": "",
    }
    assert [call[0] for call in fakes.resourcifier.calls] == ["dry_run"]
    assert fakes.resourcifier.names("ConfigMap") == {"keep", "change", "gone"}
    assert client.get("/deployments/app").get_json()["revision"] == 1
    assert client.get("/deployments/app/preview").get_json() == response.get_json()


def test_applying_a_preview_makes_exactly_its_changes(client, fakes):
    deployment_of(client, config_map("keep"), config_map("change", {"v": "1"}), config_map("gone"))
    body = template("app", config_map("keep"), config_map("change", {"v": "2"}), service("web"))
    preview = client.put("/deployments/app?preview=true", json=body).get_json()
    fakes.resourcifier.applied.clear()
    operation = start(client, "POST", "/deployments/app/preview/apply")
    assert operation["type"] == "apply-preview"
    assert operation["status"] == "Succeeded"
    assert fakes.resourcifier.applied == [["change", "web"]]
    assert fakes.resourcifier.deleted == [["gone"]]
    assert fakes.resourcifier.objects[("ConfigMap", "default", "change")]["data"] == {"v": "2"}
    deployment = client.get("/deployments/app").get_json()
    assert deployment["revision"] == 2
    assert preview["manifest"] != deployment["latestManifest"]
    assert client.get("/deployments/app/preview").status_code == 404


def test_a_first_deploy_can_be_previewed_and_applied(client, fakes):
    response = client.post("/deployments?preview=true", json=template("app", config_map("a")))
    assert plan_of(response) == {"a": "create"}
    assert client.get("/deployments/app").status_code == 404
    assert fakes.resourcifier.applied == []
    operation = start(client, "POST", "/deployments/app/preview/apply")
    assert operation["status"] == "Succeeded"
    assert fakes.resourcifier.names("ConfigMap") == {"a"}


def test_applying_a_preview_of_a_deployment_that_changed_since_is_a_conflict(client, fakes):
    deployment_of(client, config_map("a"))
    client.put("/deployments/app?preview=true", json=template("app", config_map("b")))
    start(client, "PUT", "/deployments/app", template("app", config_map("c")))
    response = client.post("/deployments/app/preview/apply")
    assert response.get_json() == {
        "status": 409,
        "message": 'deployment "app" changed since the preview: preview the change again '
        "(PUT /deployments/app?preview=true), then apply it",
    }
    assert fakes.resourcifier.names("ConfigMap") == {"c"}


def test_applying_or_reading_an_absent_preview_is_a_404_saying_what_to_do(client, fakes):
    deployment_of(client, config_map("a"))
    message = (
        'deployment "app" has no preview: make one with PUT /deployments/app?preview=true '
        "(or POST /deployments?preview=true)"
    )
    for response in (
        client.post("/deployments/app/preview/apply"),
        client.get("/deployments/app/preview"),
        client.delete("/deployments/app/preview"),
    ):
        assert response.get_json() == {"status": 404, "message": message}


def test_a_discarded_preview_cannot_be_applied(client, fakes):
    deployment_of(client, config_map("a"))
    client.put("/deployments/app?preview=true", json=template("app", config_map("b")))
    assert client.delete("/deployments/app/preview").status_code == 204
    assert client.post("/deployments/app/preview/apply").status_code == 404
    assert fakes.resourcifier.names("ConfigMap") == {"a"}


def test_a_preview_of_a_bad_configuration_is_the_same_400_and_stores_nothing(client, fakes):
    deployment_of(client, config_map("a"))
    bad = template("app", config_map("cfg", {"x": "$(ref.ghost.metadata.name)"}))
    response = client.put("/deployments/app?preview=true", json=bad)
    assert response.get_json() == {
        "status": 400,
        "message": "resource 'cfg': reference $(ref.ghost.metadata.name) names an unknown "
        "resource 'ghost'",
    }
    assert client.get("/deployments/app/preview").status_code == 404


def test_a_preview_while_an_operation_runs_is_allowed_and_says_so(client, fakes):
    from dataclasses import replace

    from manager.template_input import template_from_body
    from manager.workflow import Update

    deployment_of(client, config_map("a"))
    running = Update(replace(fakes, runner=None)).start(
        template_from_body(template("app", config_map("b")))
    )
    response = client.put("/deployments/app?preview=true", json=template("app", config_map("c")))
    assert response.status_code == 200
    assert response.get_json()["runningOperation"] == running.id


def test_unresolved_references_are_previewed_as_written(client, fakes):
    cfg = config_map("cfg", {"ip": "$(ref.web.spec.clusterIP)"})
    response = client.post("/deployments?preview=true", json=template("app", service("web"), cfg))
    assert plan_of(response) == {"web": "create", "cfg": "create"}
    line = response.get_json()["plan"][1]
    assert "ip: $(ref.web.spec.clusterIP)" in line["diff"]


def test_secret_values_never_appear_in_a_preview(client, fakes):
    secret = {
        "name": "creds",
        "type": "Secret",
        "properties": {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "stringData": {"password": "S3cr3t-value"},
        },
    }
    response = client.post("/deployments?preview=true", json=template("app", secret))
    diff = response.get_json()["plan"][0]["diff"]
    assert "S3cr3t-value" not in diff
    assert "password: <redacted sha256:" in diff


def test_drift_reports_missing_and_modified_objects_and_sync_repairs_them(client, fakes):
    deployment_of(client, config_map("a", {"v": "1"}), config_map("b", {"v": "1"}), service("c"))
    drift = client.get("/deployments/app/drift").get_json()
    assert drift["sync"] == "InSync"
    assert client.get("/deployments/app").get_json()["sync"] == "InSync"
    fakes.resourcifier.objects.pop(("ConfigMap", "default", "a"))
    fakes.resourcifier.objects[("ConfigMap", "default", "b")]["data"]["v"] = "edited"
    fingerprint = client.get("/deployments/app").get_json()["fingerprint"]
    drift = client.get("/deployments/app/drift").get_json()
    statuses = {item["resource"]: item["status"] for item in drift["resources"]}
    assert statuses == {"a": "Missing", "b": "Modified", "c": "InSync"}
    modified = next(item for item in drift["resources"] if item["resource"] == "b")
    assert "-  v: edited\n+  v: '1'\n" in modified["diff"]
    deployment = client.get("/deployments/app").get_json()
    assert deployment["sync"] == "OutOfSync"
    assert deployment["health"] == {"status": "Missing", "message": "a: not found"}
    assert deployment["fingerprint"] == fingerprint  # a check is not a change
    start(client, "POST", "/deployments/app/sync")
    assert client.get("/deployments/app/drift").get_json()["sync"] == "InSync"


def test_a_periodic_check_records_drift_without_being_asked(client, fakes):
    from dataclasses import replace

    from manager.workflow import Runner
    from tests.support import wait_until

    deployment_of(client, config_map("a"))
    runner = Runner(replace(fakes, runner=None), drift_interval=0.05)
    runner.start()
    try:
        wait_until(lambda: client.get("/deployments/app").get_json()["sync"] == "InSync")
        fakes.resourcifier.objects.pop(("ConfigMap", "default", "a"))
        wait_until(lambda: client.get("/deployments/app").get_json()["sync"] == "OutOfSync")
    finally:
        runner.stop()
