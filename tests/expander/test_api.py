"""`POST /expand`: the request and answer shapes, and bad request bodies."""

import textwrap

import requests

from dmcommon.documents import MAX_DEPTH
from expander.app import create_app
from tests.expander.conftest import body


def test_primitives_pass_through_unchanged(expand):
    result = expand.ok(
        "resources:\n"
        "- name: cm\n"
        "  type: ConfigMap\n"
        "  properties: {apiVersion: v1, kind: ConfigMap, metadata: {name: cm}}\n"
        "  metadata: {dependsOn: [x]}\n"
    )
    assert result == {
        "config": {"resources": [{
            "name": "cm",
            "type": "ConfigMap",
            "properties": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}},
            "metadata": {"dependsOn": ["x"]},
        }]},
        "layout": {"resources": [{"name": "cm", "type": "ConfigMap"}]},
        "warnings": [],
    }


def test_body_that_is_not_json_is_rejected(client):
    response = client.post("/expand", data="resources: []", content_type="application/json")
    assert response.get_json() == {
        "status": 400,
        "message": 'request body must be JSON: {"template": {...}, "env": {...}}',
    }


def test_body_that_is_not_an_object_is_rejected(client):
    response = client.post("/expand", json=["template"])
    assert response.get_json() == {
        "status": 400, "message": "request body must be a JSON object with template and env"
    }


def test_missing_template_is_rejected(client):
    response = client.post("/expand", json={"env": {"deployment": "d"}})
    assert response.get_json() == {"status": 400, "message": "request body needs a template"}


def test_missing_content_is_rejected(client):
    response = client.post("/expand", json={"template": {"name": "d", "imports": []}})
    assert response.get_json() == {
        "status": 400,
        "message": "template.content is required: the configuration's YAML text",
    }


def test_content_of_the_wrong_type_is_rejected(client):
    response = client.post("/expand", json={"template": {"name": "d", "content": 3}})
    assert response.get_json() == {"status": 400, "message": "template.content must be a string"}


def test_imports_that_are_not_a_list_are_rejected(client):
    request = body("resources: []")
    request["template"]["imports"] = {"a.jinja": "x"}
    response = client.post("/expand", json=request)
    assert response.get_json() == {"status": 400, "message": "template.imports must be a list"}


def test_import_without_content_is_rejected(client):
    request = body("resources: []")
    request["template"]["imports"] = [{"name": "a.jinja"}]
    response = client.post("/expand", json=request)
    assert response.get_json()["message"] == "template.imports[0].content must be a string"


def test_import_without_name_or_path_is_rejected(client):
    request = body("resources: []")
    request["template"]["imports"] = [{"content": "x"}]
    response = client.post("/expand", json=request)
    assert response.get_json()["message"] == "template.imports[0] needs a name or a path"


def test_env_of_the_wrong_type_is_rejected(client):
    request = body("resources: []")
    request["env"] = {"deployment": 5}
    response = client.post("/expand", json=request)
    assert response.get_json()["message"] == "env.deployment must be a string"


def test_import_name_defaults_to_its_path(client):
    request = body("resources:\n- {name: a, type: t.jinja}\n")
    request["template"]["imports"] = [
        {"path": "t.jinja", "content": "resources:\n- {name: '{{ env.name }}-x', type: Pod}\n"}
    ]
    response = client.post("/expand", json=request)
    assert response.status_code == 200, response.get_json()
    # Expanded as a template, not passed through as a primitive named like one.
    assert response.get_json()["config"]["resources"] == [{"name": "a-x", "type": "Pod"}]


def test_body_over_the_size_limit_is_413():
    client = create_app({"MAX_CONTENT_LENGTH": 1000}).test_client()
    response = client.post("/expand", json=body("resources: []\n" + "#" * 2000))
    assert response.status_code == 413
    assert response.get_json()["message"] == "request body is larger than the limit of 1000 bytes"


def test_gunicorn_served_expander_expands(expander_url):
    response = requests.post(
        f"{expander_url}/expand",
        json=body(
            "resources:\n- {name: a, type: t.jinja, properties: {n: 2}}\n",
            {"t.jinja": "resources:\n{% for i in range(properties.n) %}"
                        "- {name: r{{ i }}, type: Pod}\n{% endfor %}"},
        ),
        timeout=30,
    )
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["config"]["resources"]] == ["r0", "r1"]


def test_gunicorn_served_expander_reports_errors_as_json(expander_url):
    response = requests.post(
        f"{expander_url}/expand", json=body("resources: [\n"), timeout=30
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("config: invalid YAML at line 2")


def test_body_nested_too_deeply_is_rejected(client):
    response = client.post(
        "/expand", data="[" * 100000 + "]" * 100000, content_type="application/json"
    )
    assert response.get_json() == {
        "status": 400,
        "message": "the request body is nested too deeply",
    }


def test_configuration_nested_too_deeply_is_stopped_and_the_service_keeps_serving(expand):
    # Our own limit, checked before the YAML library builds anything, whatever its release.
    message = expand.error("resources: " + "[" * 50000 + "]" * 50000 + "\n")
    assert message == f"config: nested more than {MAX_DEPTH} levels deep"
    assert expand.ok("resources:\n- {name: a, type: Pod}\n")["config"]["resources"]


def test_configuration_at_the_nesting_limit_is_expanded_and_one_level_more_is_not(expand):
    def config(levels: int) -> str:
        # The top mapping, `resources` and the resource are three of the levels.
        properties = "[" * (levels - 3) + "]" * (levels - 3)
        return f"resources:\n- {{name: a, type: P, properties: {properties}}}\n"

    assert expand.ok(config(MAX_DEPTH))["config"]["resources"][0]["name"] == "a"
    message = expand.error(config(MAX_DEPTH + 1))
    assert message == f"config: nested more than {MAX_DEPTH} levels deep"


def test_block_style_nesting_counts_too(expand):
    deep = "".join(f"{'  ' * level}k:\n" for level in range(MAX_DEPTH + 1))
    message = expand.error("resources: []\nextra:\n" + textwrap.indent(deep, "  "))
    assert message == f"config: nested more than {MAX_DEPTH} levels deep"


def test_template_output_nested_too_deeply_names_the_template(expand):
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {"t.jinja": f"resources:\n- {{name: x, type: P, properties: {{v: {deep}}}}}\n"},
    )
    assert message == (
        "template t.jinja (resource 'a'): the template's output:"
        f" nested more than {MAX_DEPTH} levels deep"
    )


def test_schema_nested_too_deeply_names_the_schema(expand):
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    message = expand.error(
        "resources:\n- {name: a, type: t.jinja}\n",
        {
            "t.jinja": "resources: []\n",
            "t.jinja.schema": f"properties: {{x: {{enum: {deep}}}}}\n",
        },
    )
    assert message == (
        f"template t.jinja (resource 'a'): schema t.jinja.schema: nested more than {MAX_DEPTH}"
        " levels deep"
    )


def test_yaml_timestamps_and_binary_become_text(expand):
    result = expand.ok(
        "resources:\n- name: cm\n  type: ConfigMap\n"
        "  properties: {data: {day: 2024-01-31, at: 2024-01-31T10:00:00Z, raw: !!binary aGk=}}\n"
    )
    assert result["config"]["resources"][0]["properties"]["data"] == {
        "day": "2024-01-31", "at": "2024-01-31T10:00:00+00:00", "raw": "aGk="
    }


def test_values_json_cannot_hold_are_rejected(expand):
    message = expand.error("resources:\n- {name: a, type: P, properties: {x: .nan}}\n")
    assert message.startswith("the expansion cannot be written as JSON: Out of range float")
