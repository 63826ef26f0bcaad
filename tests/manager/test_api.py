"""The manager's API and workflow over in-process stand-ins of the expander and resourcifier
and a real SQLite repository."""

from dataclasses import replace

import pytest
import yaml

from manager.labels import DEPLOYMENT, MANAGED_BY
from manager.models import Template
from manager.workflow import Update
from tests.manager.helpers import config_map, service, template


def deploy(client, body, status=201):
    response = client.post("/deployments?wait=true", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def latest_manifest(client, name):
    deployment = client.get(f"/deployments/{name}").get_json()
    return client.get(f"/deployments/{name}/manifests/{deployment['latestManifest']}").get_json()


def states(manifest):
    return {
        item["name"]: item["state"]["status"] for item in manifest["expandedConfig"]["resources"]
    }


def assert_nothing_stored(client, fakes, name):
    assert client.get(f"/deployments/{name}").status_code == 404
    assert fakes.resourcifier.applied == []


# Creating


def test_a_deployment_of_primitives_is_deployed_with_the_labels(client, fakes):
    body = deploy(client, template("app", config_map("cfg"), service("web")))
    assert body["state"] == {"status": "Deployed", "errors": []}
    assert body["namespace"] == "default"
    assert body["deployedAt"] and body["fingerprint"]
    live = fakes.resourcifier.objects[("ConfigMap", "default", "cfg")]
    assert live["metadata"]["labels"] == {MANAGED_BY: "deployment-manager", DEPLOYMENT: "app"}
    assert states(latest_manifest(client, "app")) == {"cfg": "Created", "web": "Created"}


def test_user_labels_are_kept_beside_ours(client, fakes):
    deploy(client, template("app", config_map("cfg", labels={"tier": "db", MANAGED_BY: "me"})))
    labels = fakes.resourcifier.objects[("ConfigMap", "default", "cfg")]["metadata"]["labels"]
    assert labels == {"tier": "db", MANAGED_BY: "deployment-manager", DEPLOYMENT: "app"}


def test_the_expander_gets_the_deployment_and_namespace_as_env(client, fakes):
    deploy(client, template("app", config_map("cfg"), namespace="team-a"))
    assert fakes.expander.calls[0][1] == {"deployment": "app", "project": "team-a"}


def test_a_missing_namespace_is_created_but_not_owned_by_the_deployment(client, fakes):
    deploy(client, template("app", config_map("cfg"), namespace="team-a"))
    namespace = fakes.resourcifier.objects[("Namespace", "", "team-a")]
    assert namespace["metadata"]["labels"] == {MANAGED_BY: "deployment-manager"}
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert fakes.resourcifier.names("Namespace") == {"team-a"}
    assert fakes.resourcifier.names("ConfigMap") == set()


def test_a_yaml_body_is_accepted(client, fakes):
    body = yaml.safe_dump(template("app", config_map("cfg")))
    response = client.post(
        "/deployments?wait=true", data=body, content_type="application/yaml"
    )
    assert response.status_code == 201
    assert response.get_json()["state"]["status"] == "Deployed"


def test_references_are_applied_level_by_level_with_live_values(client, fakes):
    cm = config_map(
        "cfg",
        {
            "ip": "$(ref.web.spec.clusterIP)",
            "url": "http://$(ref.web.metadata.name):$(ref.web.spec.ports[0].port)",
        },
    )
    cm["properties"]["data"]["port"] = "$(ref.web.spec.ports[0].port)"
    deploy(client, template("app", cm, service("web", 8080), config_map("solo")))
    # The first batch creates the missing "default" namespace.
    assert fakes.resourcifier.applied == [["default"], ["web", "solo"], ["cfg"]]
    data = fakes.resourcifier.objects[("ConfigMap", "default", "cfg")]["data"]
    assert data == {"ip": "10.0.0.7", "url": "http://web:8080", "port": 8080}
    manifest = latest_manifest(client, "app")
    assert manifest["expandedConfig"]["resources"][0]["properties"]["data"]["ip"] == "10.0.0.7"


def test_referenced_objects_are_read_back_when_the_apply_answer_lacks_them(client, fakes):
    fakes.resourcifier.answers_live = False
    cm = config_map("cfg", {"ip": "$(ref.web.spec.clusterIP)"})
    deploy(client, template("app", cm, service("web"), config_map("solo")))
    # The namespace check, then one read of the referenced object only.
    assert fakes.resourcifier.reads == [("Namespace", "default"), ("Service", "web")]
    data = fakes.resourcifier.objects[("ConfigMap", "default", "cfg")]["data"]
    assert data == {"ip": "10.0.0.7"}


def test_a_fresh_namespace_is_applied_before_the_levels(client, fakes):
    deploy(client, template("app", config_map("cfg"), namespace="fresh"))
    assert fakes.resourcifier.applied == [["fresh"], ["cfg"]]


def test_a_name_that_exists_is_a_conflict(client, fakes):
    deploy(client, template("app", config_map("cfg")))
    response = client.post("/deployments", json=template("app", config_map("other")))
    assert response.status_code == 409
    assert "already exists" in response.get_json()["message"]
    assert fakes.resourcifier.names("ConfigMap") == {"cfg"}


# Bad input: each answers 400 and stores and applies nothing.


@pytest.mark.parametrize(
    "body, message",
    [
        ({"content": "resources: []"}, "'name' must be a non-empty string"),
        ({"name": "Bad_Name", "content": "x"}, "'name' 'Bad_Name' is not a DNS-1123 label"),
        ({"name": "app", "content": 3}, "'content' must be the configuration's YAML text"),
        ({"name": "app", "content": "x", "imports": {}}, "'imports' must be a list"),
        (
            {"name": "app", "content": "x", "imports": [{"name": "t.py"}]},
            "imports[0] ('t.py'): 'content' must be a string",
        ),
        ({"name": "app", "content": "x", "namespace": "NS"}, "'namespace' 'NS' is not a DNS"),
        ({"name": "app", "content": "x", "extra": 1}, "unknown Template field(s): extra"),
        (["app"], "the body must be a Template object"),
    ],
)
def test_an_invalid_template_is_refused(client, fakes, body, message):
    response = client.post("/deployments", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["message"]
    assert fakes.expander.calls == []
    assert client.get("/deployments").get_json() == []


def test_an_update_may_be_yaml_and_leave_out_the_name(client, fakes):
    deploy(client, template("app", config_map("a")))
    body = yaml.safe_dump({"content": template("app", config_map("b"))["content"]})
    response = client.put(
        "/deployments/app?wait=true", data=body, content_type="text/yaml; charset=utf-8"
    )
    assert response.status_code == 200, response.get_json()
    assert fakes.resourcifier.names("ConfigMap") == {"b"}


def test_invalid_json_is_refused(client, fakes):
    response = client.post("/deployments", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("the request body is not valid JSON")


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", "[" * 100000 + "]" * 100000),
        ("text/yaml", "[" * 100000 + "]" * 100000),
    ],
)
def test_a_body_nested_too_deeply_is_refused_and_stores_nothing(client, fakes, content_type, body):
    response = client.post("/deployments", data=body, content_type=content_type)
    assert response.get_json() == {
        "status": 400,
        "message": "the request body is nested too deeply",
    }
    assert client.get("/deployments").get_json() == []


def test_invalid_yaml_body_is_refused(client, fakes):
    response = client.post("/deployments", data="a: [", content_type="text/yaml")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("the request body is not valid YAML")


def test_a_body_with_a_value_written_as_a_date_it_is_not_is_refused(client, fakes):
    body = "name: app\ncontent: 'resources: []'\nreleased: 2001-13-45\n"
    response = client.post("/deployments", data=body, content_type="text/yaml")
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("the request body is not valid YAML")
    assert "'2001-13-45' is written as a date but is not one" in response.get_json()["message"]
    assert_nothing_stored(client, fakes, "app")


def test_an_expansion_error_is_a_400_and_stores_nothing(client, fakes):
    response = client.post("/deployments", json={"name": "app", "content": "resources: ["})
    assert response.status_code == 400
    assert "invalid YAML" in response.get_json()["message"]
    assert_nothing_stored(client, fakes, "app")


def test_an_unknown_reference_stores_and_applies_nothing(client, fakes):
    cm = config_map("cfg", {"x": "$(ref.ghost.metadata.name)"})
    response = client.post("/deployments", json=template("app", cm))
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "resource 'cfg': reference $(ref.ghost.metadata.name) names an unknown resource 'ghost'"
    )
    assert_nothing_stored(client, fakes, "app")


def test_a_cycle_stores_and_applies_nothing(client, fakes):
    a = config_map("a", {"x": "$(ref.b.metadata.name)"})
    b = config_map("b", {"x": "$(ref.a.metadata.name)"})
    response = client.post("/deployments", json=template("app", a, b))
    assert response.status_code == 400
    assert "dependency cycle: a -> b -> a" in response.get_json()["message"]
    assert_nothing_stored(client, fakes, "app")


def test_a_primitive_that_is_not_a_kubernetes_object_is_refused(client, fakes):
    bad = {"name": "x", "type": "ConfigMap", "properties": {"data": {}}}
    response = client.post("/deployments", json=template("app", bad))
    assert response.status_code == 400
    assert response.get_json()["message"] == (
        "resource 'x' (type 'ConfigMap') is not a Kubernetes object: it lacks apiVersion, kind, "
        "metadata.name"
    )
    assert_nothing_stored(client, fakes, "app")


def test_a_body_over_the_limit_is_a_413(fakes):
    from manager.app import create_app

    app = create_app(
        {"MAX_CONTENT_LENGTH": 100, "EXPANDER_URL": "x", "RESOURCIFIER_URL": "y"}, services=fakes
    )
    response = app.test_client().post("/deployments", json=template("app", config_map("c" * 200)))
    assert response.status_code == 413
    assert response.get_json()["message"] == "request body is larger than the limit of 100 bytes"


# Failures while applying


def test_a_rejected_resource_fails_its_dependents_but_not_independent_ones(client, fakes):
    fakes.resourcifier.reject = {"web"}
    dependent = config_map("cfg", {"ip": "$(ref.web.spec.clusterIP)"})
    indirect = config_map("top", {"x": "$(ref.cfg.metadata.name)"})
    body = deploy(client, template("app", service("web"), dependent, indirect, config_map("solo")))
    assert body["state"]["status"] == "Failed"
    assert body["state"]["errors"] == ["resource 'web': web is invalid"]
    manifest = latest_manifest(client, "app")
    assert states(manifest) == {
        "web": "Failed",
        "cfg": "Aborted",
        "top": "Aborted",
        "solo": "Created",
    }
    assert fakes.resourcifier.names("ConfigMap") == {"solo"}


def test_a_path_missing_from_the_live_object_fails_that_resource(client, fakes):
    cm = config_map("cfg", {"x": "$(ref.web.status.loadBalancer.ingress[0].ip)"})
    body = deploy(client, template("app", service("web"), cm))
    assert body["state"]["status"] == "Failed"
    assert body["state"]["errors"] == [
        "resource 'cfg': reference $(ref.web.status.loadBalancer.ingress[0].ip): the live object "
        "of resource 'web' has no value at 'status.loadBalancer.ingress[0].ip'"
    ]
    assert states(latest_manifest(client, "app")) == {"web": "Created", "cfg": "Failed"}


def test_the_expander_down_is_a_502_and_stores_nothing(client, fakes):
    fakes.expander.down = True
    response = client.post("/deployments", json=template("app", config_map("cfg")))
    assert response.status_code == 502
    assert "cannot reach the expander" in response.get_json()["message"]
    assert_nothing_stored(client, fakes, "app")


def test_the_resourcifier_down_fails_the_operation_and_the_deployment(client, fakes):
    fakes.resourcifier.down = True
    response = client.post("/deployments", json=template("app", config_map("cfg")))
    assert response.status_code == 202
    operation = response.get_json()
    reason = "cannot reach the resourcifier"
    assert operation["status"] == "Failed"
    assert operation["errors"] == [reason]
    deployment = client.get("/deployments/app").get_json()
    assert deployment["state"] == {"status": "Failed", "errors": [reason]}
    assert states(latest_manifest(client, "app")) == {"cfg": "Aborted"}


def test_a_failed_deployment_can_be_redeployed_and_deleted(client, fakes):
    fakes.resourcifier.reject = {"cfg"}
    deploy(client, template("app", config_map("cfg")))
    fakes.resourcifier.reject = set()
    response = client.put("/deployments/app?wait=true", json=template("app", config_map("cfg")))
    assert response.status_code == 200
    assert response.get_json()["state"] == {"status": "Deployed", "errors": []}
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert client.get("/deployments/app").status_code == 404


# Updating, deleting, rolling back


def test_an_update_applies_the_new_manifest_and_prunes_dropped_objects(client, fakes):
    deploy(client, template("app", config_map("a"), config_map("b")))
    response = client.put(
        "/deployments/app?wait=true", json=template("app", config_map("b"), config_map("c"))
    )
    assert response.status_code == 200
    assert response.get_json()["state"]["status"] == "Deployed"
    assert fakes.resourcifier.names("ConfigMap") == {"b", "c"}
    assert fakes.resourcifier.deleted == [["a"]]
    assert len(client.get("/deployments/app/manifests").get_json()) == 2


def test_pruning_compares_objects_not_resource_names(client, fakes):
    deploy(client, template("app", config_map("a")))
    renamed = config_map("a")
    renamed["name"] = "renamed"
    client.put("/deployments/app?wait=true", json=template("app", renamed))
    assert fakes.resourcifier.deleted == []
    assert fakes.resourcifier.names("ConfigMap") == {"a"}


def test_an_update_with_a_stale_fingerprint_is_a_conflict(client, fakes):
    first = deploy(client, template("app", config_map("a")))
    client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    response = client.put(
        "/deployments/app?wait=true",
        json=template("app", config_map("c")),
        headers={"If-Match": f'"{first["fingerprint"]}"'},
    )
    assert response.status_code == 409
    assert "is stale" in response.get_json()["message"]
    assert fakes.resourcifier.names("ConfigMap") == {"b"}


def test_an_update_with_the_current_fingerprint_proceeds(client, fakes):
    first = deploy(client, template("app", config_map("a")))
    response = client.put(
        "/deployments/app?wait=true",
        json=template("app", config_map("b")),
        headers={"If-Match": first["fingerprint"]},
    )
    assert response.status_code == 200
    assert response.get_json()["fingerprint"] != first["fingerprint"]


def test_a_change_during_another_operation_is_a_conflict_naming_it(client, fakes):
    deploy(client, template("app", config_map("a")))
    # Without a runner the operation stays Pending: the deployment is busy.
    running = Update(replace(fakes, runner=None)).start(Template("app", "resources: []"))
    for response in (
        client.put("/deployments/app", json=template("app", config_map("b"))),
        client.delete("/deployments/app"),
        client.post("/deployments/app/sync"),
        client.post("/deployments/app/rollback", json={"revision": 1}),
    ):
        assert response.status_code == 409
        assert response.get_json()["message"] == (
            f'deployment "app" is busy: operation {running.id} (update) is running; '
            f"wait for it (GET /operations/{running.id}) or cancel it"
        )
    assert fakes.resourcifier.names("ConfigMap") == {"a"}
    assert len(fakes.repository.list_manifest_names("app")) == 2


def test_the_url_name_and_body_name_must_agree(client, fakes):
    deploy(client, template("app", config_map("a")))
    response = client.put("/deployments/app?wait=true", json=template("other", config_map("b")))
    assert response.status_code == 400
    assert "does not match" in response.get_json()["message"]


def test_updating_a_missing_deployment_is_a_404(client, fakes):
    response = client.put("/deployments/ghost?wait=true", json=template("ghost", config_map("a")))
    assert response.status_code == 404
    assert response.get_json()["message"] == 'deployment "ghost" not found'


def test_delete_removes_objects_in_reverse_dependency_order(client, fakes):
    deploy(
        client,
        template("app", config_map("cfg", {"x": "$(ref.web.metadata.name)"}), service("web")),
    )
    response = client.delete("/deployments/app?wait=true")
    assert response.status_code == 200
    assert response.get_json()["state"]["status"] == "Deleted"
    assert fakes.resourcifier.deleted == [["cfg"], ["web"]]
    assert client.get("/deployments/app").status_code == 404
    assert client.get("/types").get_json() == []


def test_delete_with_keep_resources_abandons_the_objects(client, fakes):
    deploy(client, template("app", config_map("a")))
    assert client.delete("/deployments/app?keepResources=true&wait=true").status_code == 200
    assert fakes.resourcifier.deleted == []
    assert fakes.resourcifier.names("ConfigMap") == {"a"}
    assert client.get("/deployments/app").status_code == 404


def test_delete_with_the_resourcifier_down_keeps_a_failed_record(client, fakes):
    deploy(client, template("app", config_map("a")))
    fakes.resourcifier.down = True
    response = client.delete("/deployments/app?wait=true")
    assert response.status_code == 200
    deployment = client.get("/deployments/app").get_json()
    assert deployment == response.get_json()
    assert deployment["state"]["status"] == "Failed"
    fakes.resourcifier.down = False
    assert client.delete("/deployments/app?wait=true").status_code == 200


def test_an_object_that_cannot_be_deleted_keeps_the_record_failed(client, fakes):
    deploy(client, template("app", config_map("a"), config_map("b")))
    fakes.resourcifier.undeletable = {"b"}
    response = client.delete("/deployments/app?wait=true")
    assert response.status_code == 200
    assert response.get_json()["state"] == {
        "status": "Failed",
        "errors": ["resource 'b': b is protected"],
    }
    assert client.get("/deployments/app").get_json() == response.get_json()
    assert states(latest_manifest(client, "app")) == {"a": "Deleted", "b": "Failed"}
    assert fakes.resourcifier.names("ConfigMap") == {"b"}
    fakes.resourcifier.undeletable = set()
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert fakes.resourcifier.names("ConfigMap") == set()


def test_rollback_redeploys_an_earlier_manifest_as_a_new_one(client, fakes):
    deploy(client, template("app", config_map("a")))
    first = client.get("/deployments/app/manifests").get_json()[0]["name"]
    client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    response = client.post("/deployments/app/rollback?wait=true", json={"manifest": first})
    assert response.status_code == 200
    assert fakes.resourcifier.names("ConfigMap") == {"a"}
    summaries = client.get("/deployments/app/manifests").get_json()
    assert [item["revision"] for item in summaries] == [1, 2, 3]
    assert [item["status"] for item in summaries] == ["Succeeded"] * 3
    names = [item["name"] for item in summaries]
    assert names == sorted(names)
    assert response.get_json()["latestManifest"] == names[-1]
    assert response.get_json()["revision"] == 3


def test_rollback_by_default_goes_to_the_previous_successful_revision(client, fakes):
    deploy(client, template("app", config_map("a")))
    client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    fakes.resourcifier.reject = {"c"}
    client.put("/deployments/app?wait=true", json=template("app", config_map("c")))
    fakes.resourcifier.reject = set()
    response = client.post("/deployments/app/rollback?wait=true")
    assert response.get_json()["state"] == {"status": "Deployed", "errors": []}
    assert fakes.resourcifier.names("ConfigMap") == {"b"}
    operation = client.get("/deployments/app/operations").get_json()[0]
    assert operation["type"] == "rollback"


def test_rollback_by_revision_number(client, fakes):
    deploy(client, template("app", config_map("a")))
    client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    response = client.post("/deployments/app/rollback?wait=true", json={"revision": 1})
    assert response.status_code == 200
    assert fakes.resourcifier.names("ConfigMap") == {"a"}
    assert client.get("/deployments/app/manifests/1").get_json()["revision"] == 1


def test_rollback_to_an_unknown_manifest_is_a_404(client, fakes):
    deploy(client, template("app", config_map("a")))
    response = client.post("/deployments/app/rollback", json={"manifest": "manifest-nope"})
    assert response.status_code == 404
    assert (
        response.get_json()["message"] == 'manifest "manifest-nope" of deployment "app" not found'
    )


@pytest.mark.parametrize(
    "body, message",
    [
        ({"revision": 0}, "'revision' must be a positive whole number"),
        ({"revision": "1"}, "'revision' must be a positive whole number"),
        ({"manifest": ""}, "'manifest' must be a manifest name"),
        ({"other": 1}, 'the body must be {"revision": N} or {"manifest": "<name>"} (or empty)'),
    ],
)
def test_a_bad_rollback_body_is_refused(client, fakes, body, message):
    deploy(client, template("app", config_map("a")))
    response = client.post("/deployments/app/rollback", json=body)
    assert response.get_json() == {"status": 400, "message": message}
    assert len(client.get("/deployments/app/operations").get_json()) == 1


def test_rollback_without_an_earlier_revision_is_refused(client, fakes):
    deploy(client, template("app", config_map("a")))
    response = client.post("/deployments/app/rollback", json={})
    assert response.get_json() == {
        "status": 400,
        "message": 'deployment "app" has no earlier revision to roll back to',
    }


# Reading


def test_list_names_and_full_view(client, fakes):
    deploy(client, template("b", config_map("x")))
    deploy(client, template("a", config_map("y")))
    assert client.get("/deployments").get_json() == ["a", "b"]
    full = client.get("/deployments?view=full").get_json()
    assert [item["name"] for item in full] == ["a", "b"]
    assert client.get("/deployments?view=odd").status_code == 400


def test_expand_answers_config_and_layout_without_deploying(client, fakes):
    response = client.post("/expand", json=template("app", config_map("a")))
    assert response.status_code == 200
    assert response.get_json()["layout"] == {"resources": [{"name": "a", "type": "ConfigMap"}]}
    assert_nothing_stored(client, fakes, "app")


def test_types_and_instances_come_from_the_layout(client, fakes):
    deploy(client, template("app", config_map("a"), service("web")))
    assert client.get("/types").get_json() == ["ConfigMap", "Service"]
    instances = client.get("/types/Service/instances").get_json()
    manifest = client.get("/deployments/app").get_json()["latestManifest"]
    assert instances == [
        {
            "name": "web",
            "type": "Service",
            "deployment": "app",
            "manifest": manifest,
            "path": "$.resources[1]",
        }
    ]
    assert len(client.get("/types/all/instances").get_json()) == 2


def test_a_type_that_is_a_url_can_be_looked_up(client, fakes):
    url_type = {"name": "x", "type": "https://example.com/t/web.py", "properties": {}}
    fakes.expander.expand = lambda template, env: {
        "config": {"resources": [config_map("a")]},
        "layout": {"resources": [{**url_type, "resources": [{"name": "a", "type": "ConfigMap"}]}]},
    }
    deploy(client, template("app", config_map("a")))
    instances = client.get("/types/https://example.com/t/web.py/instances").get_json()
    assert [item["path"] for item in instances] == ["$.resources[0]"]
    encoded = "/types/https%3A%2F%2Fexample.com%2Ft%2Fweb.py/instances"
    assert client.get(encoded).get_json() == instances
    nested = client.get("/types/ConfigMap/instances").get_json()
    assert [item["path"] for item in nested] == ["$.resources[0].resources[0]"]


# Probes and auth


def test_readyz_names_the_part_that_is_not_ready(client, fakes):
    assert client.get("/readyz").status_code == 200
    fakes.resourcifier.down = True
    response = client.get("/readyz")
    assert response.status_code == 503
    assert (
        response.get_json()["message"] == "not ready: resourcifier: cannot reach the resourcifier"
    )


@pytest.fixture
def guarded(fakes):
    from manager.app import create_app

    config = {"API_TOKEN": "s3cret", "EXPANDER_URL": "x", "RESOURCIFIER_URL": "y"}
    return create_app(config, services=fakes).test_client()


def test_the_api_needs_the_token_when_one_is_set(guarded):
    assert guarded.get("/deployments").status_code == 401
    assert guarded.get("/deployments", headers={"Authorization": "Bearer nope"}).status_code == 403
    ok = guarded.get("/deployments", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert guarded.get("/healthz").status_code == 200


def test_readyz_is_open_but_tells_details_only_to_the_token_holder(guarded, fakes):
    fakes.expander.down = True
    assert guarded.get("/readyz").get_json() == {"status": 503, "message": "not ready"}
    detailed = guarded.get("/readyz", headers={"Authorization": "Bearer s3cret"}).get_json()
    assert detailed["message"] == "not ready: expander: cannot reach the expander"


def test_objects_left_behind_by_a_stopped_update_are_deleted_with_the_deployment(client, fakes):
    deploy(client, template("app", config_map("a")))
    fakes.resourcifier.down = True
    failed = client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    assert failed.get_json()["state"]["status"] == "Failed"
    fakes.resourcifier.down = False
    assert fakes.resourcifier.names("ConfigMap") == {"a"}
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert fakes.resourcifier.names("ConfigMap") == set()


def test_an_object_aborted_by_the_latest_manifest_is_still_deleted(client, fakes):
    cfg = config_map("cfg", {"ip": "$(ref.web.spec.clusterIP)"})
    deploy(client, template("app", service("web"), cfg))
    fakes.resourcifier.reject = {"web"}
    changed = template("app", service("web", 81), cfg)
    updated = client.put("/deployments/app?wait=true", json=changed)
    assert states(latest_manifest(client, "app")) == {"web": "Failed", "cfg": "Aborted"}
    assert updated.get_json()["state"]["status"] == "Failed"
    assert fakes.resourcifier.names("ConfigMap") == {"cfg"}
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert fakes.resourcifier.names("ConfigMap") == fakes.resourcifier.names("Service") == set()


def test_an_update_reads_earlier_manifests_only_down_to_the_newest_settled_one(client, fakes):
    deploy(client, template("app", config_map("a")))
    for name in ("b", "c", "d"):
        client.put("/deployments/app?wait=true", json=template("app", config_map(name)))
    assert fakes.repository.get_manifest("app", "4").settled is True
    repository = fakes.repository
    read = []
    original = repository.get_manifest
    repository.get_manifest = lambda deployment, name: (
        read.append(name) or original(deployment, name)
    )
    before = client.get("/deployments/app").get_json()["latestManifest"]
    client.put("/deployments/app?wait=true", json=template("app", config_map("e")))
    after = client.get("/deployments/app").get_json()["latestManifest"]
    assert read == [after, before]
    assert fakes.resourcifier.names("ConfigMap") == {"e"}


def test_an_update_looks_past_a_stopped_one_for_objects_it_left_behind(client, fakes):
    deploy(client, template("app", config_map("a")))
    fakes.resourcifier.down = True
    failed = client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    assert failed.get_json()["state"]["status"] == "Failed"
    assert fakes.repository.get_manifest("app", "2").settled is False
    fakes.resourcifier.down = False
    response = client.put("/deployments/app?wait=true", json=template("app", config_map("c")))
    assert response.get_json()["state"] == {"status": "Deployed", "errors": []}
    assert fakes.resourcifier.names("ConfigMap") == {"c"}
    assert fakes.resourcifier.deleted == [["a"]]


def test_an_object_pruned_earlier_is_not_deleted_again(client, fakes):
    deploy(client, template("app", config_map("a")))
    client.put("/deployments/app?wait=true", json=template("app", config_map("b")))
    fakes.resourcifier.deleted.clear()
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert fakes.resourcifier.deleted == [["b"]]
