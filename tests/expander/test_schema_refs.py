"""Local `$ref`s replaced by their targets for validating: the same verdicts, fewer lookups."""

from __future__ import annotations

import jsonschema
import pytest

from expander.schema_refs import inline_local_refs

PORT = {"type": "integer", "minimum": 1, "maximum": 65535}


def _errors(schema: dict, instance) -> list[tuple[list, str]]:
    validator = jsonschema.Draft4Validator(schema)
    found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [(list(error.absolute_path), error.message) for error in found]


def _refs_left(node) -> int:
    if isinstance(node, dict):
        return ("$ref" in node) + sum(_refs_left(value) for value in node.values())
    if isinstance(node, list):
        return sum(_refs_left(item) for item in node)
    return 0


SCHEMAS = {
    "in properties, items, allOf and dependencies": {
        "type": "object",
        "properties": {
            "port": {"$ref": "#/definitions/port", "maximum": 1},
            "ports": {"type": "array", "items": {"$ref": "#/definitions/port"}},
            "pair": {"items": [{"$ref": "#/definitions/port"}, {"type": "string"}]},
            "both": {"allOf": [{"$ref": "#/definitions/port"}, {"not": {"enum": [7]}}]},
        },
        "additionalProperties": {"$ref": "#/definitions/named"},
        "dependencies": {"port": {"$ref": "#/definitions/needsPorts"}},
        "definitions": {
            "port": PORT,
            "named": {"type": "object", "required": ["name"]},
            "needsPorts": {"required": ["ports"]},
        },
    },
    "a chain of references": {
        "properties": {"a": {"$ref": "#/definitions/b"}},
        "definitions": {"b": {"$ref": "#/definitions/c"}, "c": {"$ref": "#/definitions/port"},
                        "port": PORT},
    },
    "escaped pointer parts": {
        "properties": {"a": {"$ref": "#/definitions/a~1b~0c"}},
        "definitions": {"a/b~c": PORT},
    },
}
INSTANCES = [
    {},
    {"port": 0, "ports": [1, 70000, "x"], "pair": [0, 1], "both": 7, "extra": {}},
    {"port": 1, "ports": [80], "pair": [80, "tcp"], "both": 8, "extra": {"name": "n"}},
    {"a": 0},
    {"a": 443},
    {"a": "x"},
]


@pytest.mark.parametrize("name", SCHEMAS)
@pytest.mark.parametrize("instance", INSTANCES)
def test_an_inlined_schema_gives_the_same_violations(name, instance):
    schema = SCHEMAS[name]
    inlined = inline_local_refs(schema)
    assert _refs_left(inlined) < _refs_left(schema)
    assert _errors(inlined, instance) == _errors(schema, instance)


def test_references_into_a_recursive_schema_stay_and_still_validate():
    schema = {
        "properties": {"root": {"$ref": "#/definitions/node"}},
        "definitions": {"node": {
            "type": "object",
            "properties": {"value": PORT, "child": {"$ref": "#/definitions/node"}},
        }},
    }
    inlined = inline_local_refs(schema)
    assert inlined["properties"]["root"]["properties"]["child"] == {"$ref": "#/definitions/node"}
    deep = {"root": {"value": 1, "child": {"value": 2, "child": {"value": 0}}}}
    assert _errors(inlined, deep) == _errors(schema, deep) == [
        (["root", "child", "child", "value"], "0 is less than the minimum of 1"),
    ]


def test_data_that_looks_like_a_reference_is_left_alone():
    schema = {
        "properties": {
            "kind": {"enum": [{"$ref": "#/definitions/port"}], "default": {"$ref": "#"}},
        },
        "definitions": {"port": PORT},
    }
    assert inline_local_refs(schema) == schema


@pytest.mark.parametrize("schema", [
    # `id` changes what a reference points to.
    {"id": "http://example.com/s", "properties": {"a": {"$ref": "#/definitions/port"}},
     "definitions": {"port": PORT}},
    {"properties": {"a": {"id": "other", "$ref": "#/definitions/port"}},
     "definitions": {"port": PORT}},
])
def test_a_schema_that_sets_an_id_is_left_as_it_is(schema):
    assert inline_local_refs(schema) is schema


def test_references_that_point_nowhere_or_elsewhere_stay():
    schema = {"properties": {
        "missing": {"$ref": "#/definitions/missing"},
        "other": {"$ref": "common.schema#/definitions/port"},
        "encoded": {"$ref": "#/definitions/a%20b"},
    }}
    assert inline_local_refs(schema) == schema


def test_a_schema_that_would_grow_too_large_is_left_as_it_is():
    # Each definition refers to the next one twice: inlined, it would double at each step.
    definitions = {
        f"d{i}": {"properties": {"a": {"$ref": f"#/definitions/d{i + 1}"},
                                 "b": {"$ref": f"#/definitions/d{i + 1}"}}}
        for i in range(30)
    }
    definitions["d30"] = PORT
    schema = {"properties": {"x": {"$ref": "#/definitions/d0"}}, "definitions": definitions}
    assert inline_local_refs(schema) is schema
