"""Template schemas: defaults first (nested and through $ref), then validation of every property."""

import textwrap

TEMPLATE = "resources:\n- {name: x, type: Pod, properties: {{ properties|tojson }}}\n"

SCHEMA = textwrap.dedent("""\
    info:
      title: Service
    required: [image]
    properties:
      image: {type: string}
      replicas: {type: integer, minimum: 1, default: 1}
      port: {$ref: '#/definitions/port'}
      probe:
        type: object
        default: {path: /healthz}
        properties:
          path: {type: string}
          period: {type: integer, default: 10}
      ports:
        type: array
        items: {$ref: '#/definitions/portSpec'}
    definitions:
      port: {type: integer, default: 80, maximum: 65535}
      portSpec:
        type: object
        properties:
          port: {$ref: '#/definitions/port'}
          protocol: {type: string, default: TCP}
""")


def _expand(expand, properties: str, schema: str = SCHEMA, **extra):
    return expand(
        f"resources:\n- {{name: web, type: svc.jinja, properties: {properties}}}\n",
        {"svc.jinja": TEMPLATE, "svc.jinja.schema": schema, **extra},
    )


def test_defaults_fill_in_nested_and_through_refs(expand):
    response = _expand(expand, "{image: nginx, ports: [{port: 8080}, {}]}")
    assert response.status_code == 200, response.get_json()
    properties = response.get_json()["config"]["resources"][0]["properties"]
    assert properties == {
        "image": "nginx",
        "replicas": 1,
        "port": 80,
        "probe": {"path": "/healthz", "period": 10},
        "ports": [{"port": 8080, "protocol": "TCP"}, {"port": 80, "protocol": "TCP"}],
    }
    assert response.get_json()["layout"]["resources"][0]["properties"] == properties


def test_every_violation_is_reported_with_its_path(expand):
    response = _expand(expand, "{replicas: 0, port: 70000, ports: [{port: x}]}")
    assert response.get_json() == {"status": 400, "message": (
        "template svc.jinja (resource 'web'): properties do not match schema svc.jinja.schema: "
        "properties: 'image' is a required property; "
        "properties.port: 70000 is greater than the maximum of 65535; "
        "properties.ports[0].port: 'x' is not of type 'integer'; "
        "properties.replicas: 0 is less than the minimum of 1"
    )}


def test_schema_imports_must_be_supplied(expand):
    schema = "imports:\n- path: helper.py\nproperties: {}\n"
    response = _expand(expand, "{}", schema)
    assert response.get_json()["message"] == (
        "template svc.jinja (resource 'web'): schema svc.jinja.schema imports 'helper.py',"
        " which was not supplied with the request"
    )


def test_schema_imports_that_are_supplied_are_fine(expand):
    schema = "imports:\n- path: helper.py\nproperties: {}\n"
    response = _expand(expand, "{}", schema, **{"helper.py": "X = 1\n"})
    assert response.status_code == 200


def test_invalid_schema_is_a_clear_error(expand):
    response = _expand(expand, "{image: x}", "properties:\n  replicas: {type: integr}\n")
    message = response.get_json()["message"]
    assert message.startswith(
        "template svc.jinja (resource 'web'): schema svc.jinja.schema is invalid:"
    )
    assert "properties/replicas/type" in message


def test_schema_that_is_not_yaml(expand):
    response = _expand(expand, "{}", "properties: [\n")
    assert response.get_json()["message"].startswith(
        "template svc.jinja (resource 'web'): schema svc.jinja.schema: invalid YAML at line 2"
    )


def test_ref_into_another_supplied_schema(expand):
    schema = "properties:\n  port: {$ref: 'common.schema#/definitions/port'}\n"
    common = "definitions:\n  port: {type: integer, default: 443}\n"
    response = _expand(expand, "{}", schema, **{"common.schema": common})
    assert response.get_json()["config"]["resources"][0]["properties"] == {"port": 443}
    response = _expand(expand, "{port: x}", schema, **{"common.schema": common})
    assert "properties.port: 'x' is not of type 'integer'" in response.get_json()["message"]


def test_ref_to_a_missing_definition(expand):
    schema = "properties:\n  port: {$ref: '#/definitions/nothere'}\n"
    response = _expand(expand, "{}", schema)
    assert response.status_code == 400
    assert "schema svc.jinja.schema: cannot resolve $ref" in response.get_json()["message"]


def test_python_template_schema_applies_too(expand):
    response = expand(
        "resources:\n- {name: a, type: t.py}\n",
        {
            "t.py": "def GenerateConfig(c):\n    return {'resources': [{'name': 'x', 'type':"
                    " 'Pod', 'properties': c.properties}]}\n",
            "t.py.schema": "properties:\n  zone: {type: string, default: us-east1-b}\n",
        },
    )
    assert response.get_json()["config"]["resources"][0]["properties"] == {"zone": "us-east1-b"}


def test_a_schema_seen_before_is_still_checked_against_each_requests_files(expand):
    schema = "imports:\n- path: helper.py\nproperties:\n  zone: {type: string, default: a}\n"
    assert _expand(expand, "{}", schema, **{"helper.py": "X = 1\n"}).status_code == 200
    response = _expand(expand, "{}", schema)
    assert response.get_json()["message"] == (
        "template svc.jinja (resource 'web'): schema svc.jinja.schema imports 'helper.py',"
        " which was not supplied with the request"
    )
    answer = _expand(expand, "{}", schema, **{"helper.py": "X = 1\n"}).get_json()
    assert answer["config"]["resources"][0]["properties"] == {"zone": "a"}


def test_a_schema_with_aliases_applies_on_every_request(expand):
    schema = "properties:\n  a: &zone {type: string, default: z}\n  b: *zone\n"
    for _ in range(2):
        response = _expand(expand, "{}", schema)
        assert response.get_json()["config"]["resources"][0]["properties"] == {"a": "z", "b": "z"}
