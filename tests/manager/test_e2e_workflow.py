"""End to end through the real processes: templates and references, update, rollback,
delete, failures of the cluster and of the services, bad configurations, concurrency,
a crash mid-operation, fingerprints and auth."""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from tests.support import free_port, kubectl, start_service, wait_until

WEB_JINJA = """
resources:
- name: {{ env["name"] }}-svc
  type: Service
  properties:
    apiVersion: v1
    kind: Service
    metadata: {name: {{ env["name"] }}}
    spec:
      selector: {app: {{ env["name"] }}}
      ports: [{port: {{ properties["port"] }}}]
"""

WEB_SCHEMA = """
required: [port]
properties:
  port: {type: integer}
"""

SETTINGS_PY = """
def GenerateConfig(context):
    return {"resources": [{
        "name": "settings",
        "type": "ConfigMap",
        "properties": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {
                "backendIp": "$(ref.front-svc.spec.clusterIP)",
                "backendUrl": "http://$(ref.front-svc.metadata.name):$(ref.front-svc.spec.ports[0].port)",
            },
        },
    }]}
"""

IMPORTS = [
    {"name": "web.jinja", "path": "web.jinja", "content": WEB_JINJA},
    {"name": "web.jinja.schema", "path": "web.jinja.schema", "content": WEB_SCHEMA},
    {"name": "settings.py", "path": "settings.py", "content": SETTINGS_PY},
]


def config_map(name: str, **data: str) -> dict:
    return {
        "name": name,
        "type": "ConfigMap",
        "properties": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name},
            "data": data,
        },
    }


def content(*resources: dict) -> str:
    return yaml.safe_dump({"resources": list(resources)})


def template(name: str, namespace: str, *resources: dict, imports=()) -> dict:
    return {
        "name": name,
        "namespace": namespace,
        "content": content(*resources),
        "imports": list(imports),
    }


def web_app(name: str, namespace: str, port: int = 8080) -> dict:
    return template(
        name,
        namespace,
        {"name": "front", "type": "web.jinja", "properties": {"port": port}},
        {"name": "conf", "type": "settings.py"},
        imports=IMPORTS,
    )


def live(dm, kind: str, namespace: str, name: str) -> dict | None:
    result = kubectl(dm.kubeconfig, "get", kind, name, "-n", namespace, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def names(dm, kind: str, namespace: str) -> set[str]:
    result = kubectl(dm.kubeconfig, "get", kind, "-n", namespace, "-o", "json")
    return {item["metadata"]["name"] for item in json.loads(result.stdout)["items"]}


def states(dm, name: str) -> dict[str, str]:
    deployment = dm.api("GET", f"/deployments/{name}").json()
    manifest = dm.api("GET", f"/deployments/{name}/manifests/{deployment['latestManifest']}")
    return {
        item["name"]: item["state"]["status"]
        for item in manifest.json()["expandedConfig"]["resources"]
    }


def sim(dm, method: str, path: str, body=None):
    response = requests.request(method, f"{dm.simulator}/_sim/{path}", json=body, timeout=10)
    response.raise_for_status()


@pytest.fixture
def slow_cluster(dm_sqlite):
    """Every simulator request takes `seconds`; reset afterwards for the other tests."""

    def slow(seconds: float) -> None:
        sim(dm_sqlite, "POST", "latency", {"seconds": seconds})

    yield slow
    sim(dm_sqlite, "POST", "latency", {"seconds": 0})


# Templates and references


def test_templates_expand_and_references_take_live_values(dm, namespace, app):
    response = dm.api("POST", "/deployments?wait=true", json=web_app(app, namespace))
    assert response.status_code == 201, response.text
    assert response.json()["state"] == {"status": "Deployed", "errors": []}
    service = live(dm, "service", namespace, "front")
    settings = live(dm, "configmap", namespace, "settings")
    assert service["spec"]["clusterIP"]
    assert settings["data"] == {
        "backendIp": service["spec"]["clusterIP"],
        "backendUrl": "http://front:8080",
    }
    assert settings["metadata"]["labels"]["deployment-manager.io/deployment"] == app
    instances = dm.api("GET", "/types/web.jinja/instances").json()
    ours = [(item["name"], item["path"]) for item in instances if item["deployment"] == app]
    assert ours == [("front", "$.resources[0]")]


def test_an_update_applies_changes_and_prunes_dropped_objects(dm, namespace, app):
    dm.api(
        "POST",
        "/deployments?wait=true",
        json=template(app, namespace, config_map("a"), config_map("b", v="1")),
    )
    response = dm.api(
        "PUT",
        f"/deployments/{app}?wait=true",
        json=template(app, namespace, config_map("b", v="2"), config_map("c")),
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"]["status"] == "Deployed"
    assert names(dm, "configmaps", namespace) == {"b", "c"}
    assert live(dm, "configmap", namespace, "b")["data"] == {"v": "2"}


def test_rollback_restores_an_earlier_manifest_and_delete_removes_everything(dm, namespace, app):
    dm.api("POST", "/deployments?wait=true", json=template(app, namespace, config_map("a", v="1")))
    first = dm.api("GET", f"/deployments/{app}/manifests").json()[0]["name"]
    dm.api("PUT", f"/deployments/{app}?wait=true", json=template(app, namespace, config_map("z")))
    response = dm.api("POST", f"/deployments/{app}/rollback?wait=true", json={"manifest": first})
    assert response.status_code == 200, response.text
    assert live(dm, "configmap", namespace, "a")["data"] == {"v": "1"}
    assert live(dm, "configmap", namespace, "z") is None
    assert dm.api("DELETE", f"/deployments/{app}?wait=true").status_code == 200
    assert live(dm, "configmap", namespace, "a") is None
    assert dm.api("GET", f"/deployments/{app}").status_code == 404


# The cluster rejects a resource


def test_a_rejected_resource_fails_and_aborts_its_dependents_only(dm, namespace, app):
    broken = {
        "name": "web",
        "type": "Deployment",
        "properties": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "other"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        },
    }
    dependent = config_map("uses-web", uid="$(ref.web.metadata.uid)")
    body = template(app, namespace, broken, dependent, config_map("solo"))
    response = dm.api("POST", "/deployments?wait=true", json=body)
    assert response.status_code == 201, response.text
    state = response.json()["state"]
    assert state["status"] == "Failed"
    assert len(state["errors"]) == 1 and state["errors"][0].startswith("resource 'web': ")
    assert states(dm, app) == {"web": "Failed", "uses-web": "Aborted", "solo": "Created"}
    assert names(dm, "configmaps", namespace) == {"solo"}
    assert live(dm, "deployment", namespace, "web") is None


# Bad configurations: 400, nothing stored, nothing applied


@pytest.mark.parametrize(
    "text, imports, message",
    [
        ("resources: [", [], "YAML"),
        (
            content(config_map("a", x="$(ref.ghost.metadata.name)")),
            [],
            "resource 'a': reference $(ref.ghost.metadata.name) names an unknown resource 'ghost'",
        ),
        (
            content(
                config_map("a", x="$(ref.b.metadata.name)"),
                config_map("b", x="$(ref.a.metadata.name)"),
            ),
            [],
            "dependency cycle: a -> b -> a",
        ),
        (
            content({"name": "front", "type": "web.jinja", "properties": {"port": "eighty"}}),
            IMPORTS,
            "port",
        ),
    ],
    ids=["invalid-yaml", "unknown-reference", "cycle", "schema-violation"],
)
def test_a_bad_configuration_stores_and_applies_nothing(dm, namespace, app, text, imports, message):
    body = {"name": app, "namespace": namespace, "content": text, "imports": imports}
    response = dm.api("POST", "/deployments?wait=true", json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["message"]
    assert dm.api("GET", f"/deployments/{app}").status_code == 404
    assert live(dm, "namespace", "", namespace) is None


# Downstream services down


def test_the_expander_down_is_a_502_and_nothing_is_stored(start_dm, resourcifier_url, namespace):
    dead = f"http://127.0.0.1:{free_port()}"
    dm = start_dm(dead, resourcifier_url)
    body = template("app", namespace, config_map("a"))
    response = dm.api("POST", "/deployments", json=body)
    assert response.status_code == 502
    assert response.json()["message"].startswith(f"cannot reach the expander at {dead}")
    assert dm.api("GET", "/deployments/app").status_code == 404
    assert live(dm, "namespace", "", namespace) is None
    ready = dm.api("GET", "/readyz")
    assert ready.status_code == 503
    assert "expander: cannot reach the expander" in ready.json()["message"]


def test_the_resourcifier_down_fails_the_operation_and_the_deployment(
    start_dm, expander_url, namespace
):
    dead = f"http://127.0.0.1:{free_port()}"
    dm = start_dm(expander_url, dead)
    body = template("app", namespace, config_map("a"))
    response = dm.api("POST", "/deployments?wait=true", json=body)
    assert response.status_code == 201
    deployment = response.json()
    assert deployment["state"]["status"] == "Failed"
    assert deployment["state"]["errors"][0].startswith(f"cannot reach the resourcifier at {dead}")
    operation = dm.api("GET", f"/operations/{deployment['operation']}").json()
    assert operation["status"] == "Failed"
    assert operation["errors"] == deployment["state"]["errors"]
    assert states(dm, "app") == {"a": "Aborted"}
    assert live(dm, "namespace", "", namespace) is None


# Concurrency, crashes, fingerprints


def test_a_second_update_during_a_slow_one_gets_409_naming_it(dm_sqlite, namespace, slow_cluster):
    dm = dm_sqlite
    dm.api("POST", "/deployments?wait=true", json=template("app", namespace, config_map("a")))
    slow_cluster(0.5)
    first = dm.api("PUT", "/deployments/app", json=template("app", namespace, config_map("b")))
    assert first.status_code == 202
    operation = first.json()["id"]
    second = dm.api("PUT", "/deployments/app", json=template("app", namespace, config_map("c")))
    assert second.status_code == 409
    assert second.json()["message"] == (
        f'deployment "app" is busy: operation {operation} (update) is running; '
        f"wait for it (GET /operations/{operation}) or cancel it"
    )
    slow_cluster(0)
    ended = wait_until(lambda: ended_operation(dm, operation))
    assert ended["status"] == "Succeeded"
    assert live(dm, "configmap", namespace, "c") is None


def test_an_operation_whose_manager_was_killed_is_resumed_after_restart(
    dm_sqlite, namespace, slow_cluster
):
    dm = dm_sqlite
    slow_cluster(1.0)
    body = template("app", namespace, config_map("a"), config_map("b", v="$(ref.a.metadata.uid)"))
    operation = dm.api("POST", "/deployments", json=body).json()["id"]
    wait_until(lambda: running_step(dm, operation))
    dm.process.kill()
    slow_cluster(0)
    dm.restart()
    ended = wait_until(lambda: ended_operation(dm, operation))
    assert ended["status"] == "Succeeded", ended
    deployment = dm.api("GET", "/deployments/app").json()
    assert deployment["state"] == {"status": "Deployed", "errors": []}
    assert states(dm, "app") == {"a": "Created", "b": "Created"}
    assert live(dm, "configmap", namespace, "b")["data"]["v"] == live(
        dm, "configmap", namespace, "a"
    )["metadata"]["uid"]
    assert dm.api("DELETE", "/deployments/app?wait=true").status_code == 200
    assert live(dm, "configmap", namespace, "a") is None


def ended_operation(dm, operation_id):
    operation = dm.api("GET", f"/operations/{operation_id}").json()
    return operation if operation["endedAt"] else None


def running_step(dm, operation_id):
    steps = dm.api("GET", f"/operations/{operation_id}").json()["steps"]
    return any(step["status"] == "Running" for step in steps)


def test_a_stale_fingerprint_is_refused(dm, namespace, app):
    body = template(app, namespace, config_map("a"))
    first = dm.api("POST", "/deployments?wait=true", json=body).json()
    dm.api("PUT", f"/deployments/{app}?wait=true", json=template(app, namespace, config_map("b")))
    stale = {"If-Match": first["fingerprint"]}
    response = dm.api("DELETE", f"/deployments/{app}?wait=true", headers=stale)
    assert response.status_code == 409
    assert "is stale" in response.json()["message"]
    assert live(dm, "configmap", namespace, "b") is not None
    current = dm.api("GET", f"/deployments/{app}").json()["fingerprint"]
    deleted = dm.api("DELETE", f"/deployments/{app}?wait=true", headers={"If-Match": current})
    assert deleted.status_code == 200


def test_the_api_token_guards_everything_but_the_probes(start_dm, expander_url, resourcifier_url):
    dm = start_dm(expander_url, resourcifier_url, env={"DM_API_TOKEN": "t0ken"})
    missing = dm.api("GET", "/deployments")
    assert (missing.status_code, missing.json()["status"]) == (401, 401)
    wrong = dm.api("GET", "/deployments", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert dm.api("GET", "/deployments", headers={"Authorization": "Bearer t0ken"}).json() == []
    assert dm.api("GET", "/healthz").status_code == 200
    assert dm.api("GET", "/readyz").status_code == 200


def test_calls_to_the_services_carry_the_internal_token(start_dm, tmp_path, resourcifier_url):
    expander, guarded_expander = start_service(
        "expander", tmp_path, env={"DM_INTERNAL_TOKEN": "inside"}
    )
    try:
        body = template("app", "default", config_map("a"))
        with_token = start_dm(
            guarded_expander, resourcifier_url, env={"DM_INTERNAL_TOKEN": "inside"}
        )
        expanded = with_token.api("POST", "/expand", json=body)
        assert expanded.status_code == 200, expanded.text
        assert expanded.json()["config"]["resources"][0]["name"] == "a"
        without = start_dm(guarded_expander, resourcifier_url)
        refused = without.api("POST", "/expand", json=body)
        assert refused.status_code == 502
        assert refused.json()["message"] == (
            "the expander refused the internal token (401): check DM_INTERNAL_TOKEN on both "
            "services"
        )
    finally:
        expander.stop()
