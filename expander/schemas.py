"""Template schemas: `<template>.schema` files that fill in defaults and validate properties.

A schema is YAML with `info`, `imports`, `required` and `properties`; everything but
`info` and `imports` is read as a JSON Schema (draft 4) for the template's properties.
`$ref` may point inside the schema (`#/definitions/port`) or at another supplied file
(`common.schema#/definitions/port`). A property marked `sensitive: true` holds a secret:
its value never appears in a violation message (dmcommon.redact).
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema
import yaml

from dmcommon.documents import TooDeep, load_yaml
from dmcommon.errors import BadRequest
from dmcommon.redact import Redactor, leaf_texts, values_at

_NOT_SCHEMA_KEYS = ("info", "imports")
_META = jsonschema.Draft4Validator(jsonschema.Draft4Validator.META_SCHEMA)


class SchemaError(BadRequest):
    """A schema is broken, names files that were not supplied, or the properties break it."""


class Schema:
    """A parsed template schema, ready to fill defaults into properties and validate them."""

    def __init__(
        self,
        filename: str,
        text: str,
        find_source: Callable[[str], tuple[str, str] | None],
    ):
        self.filename = filename
        document = _load_yaml(filename, text)
        self.imports = _imports_of(filename, document)
        for name in self.imports:
            if find_source(name) is None:
                raise SchemaError(
                    f"schema {filename} imports '{name}', which was not supplied with the request"
                )
        self.document = {k: v for k, v in document.items() if k not in _NOT_SCHEMA_KEYS}
        # Draft 4 wants a non-empty `required`; an empty one means "nothing required".
        if self.document.get("required") == []:
            del self.document["required"]
        self.document.setdefault("type", "object")
        self.sensitive_paths = _sensitive_paths(self.document, [])
        if not _META.is_valid(self.document):
            error = jsonschema.exceptions.best_match(_META.iter_errors(self.document))
            raise SchemaError(
                f"schema {filename} is invalid: {error.message} (at {_schema_path(error)})"
            )

        def retrieve(uri: str) -> referencing.Resource:
            found = find_source(uri)
            if found is None:
                raise SchemaError(f"schema {filename} refers to '{uri}', which was not supplied")
            other = _load_yaml(found[0], found[1])
            contents = {k: v for k, v in other.items() if k not in _NOT_SCHEMA_KEYS}
            return referencing.Resource.from_contents(
                contents, default_specification=referencing.jsonschema.DRAFT4
            )

        resource = referencing.Resource.from_contents(
            self.document, default_specification=referencing.jsonschema.DRAFT4
        )
        self.registry = referencing.Registry(retrieve=retrieve).with_resource(filename, resource)
        self.validator = jsonschema.Draft4Validator(self.document, registry=self.registry)

    def apply(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Return `properties` with defaults filled in, or raise listing every violation."""
        filled = copy.deepcopy(properties)
        try:
            _fill_defaults(filled, self.document, self.registry.resolver(self.filename))
            errors = sorted(self.validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
        except referencing.exceptions.Unresolvable as error:
            raise SchemaError(f"schema {self.filename}: cannot resolve $ref {error}") from None
        except referencing.exceptions.NoSuchResource as error:
            raise SchemaError(f"schema {self.filename}: cannot resolve $ref {error.ref}") from None
        if errors:
            details = "; ".join(f"{_property_path(e)}: {e.message}" for e in errors)
            details = self.redactor(filled).text(details)
            raise SchemaError(f"properties do not match schema {self.filename}: {details}")
        return filled

    def redactor(self, properties: dict[str, Any]) -> Redactor:
        """Hides the values of the sensitive properties among `properties`."""
        sensitive = values_at(properties, self.sensitive_paths)
        return Redactor(set().union(*(leaf_texts(value) for value in sensitive)))


def _sensitive_paths(schema: Any, path: list[str]) -> list[list[str]]:
    """Paths (keys; `*` for list items) of the properties marked `sensitive: true`."""
    if not isinstance(schema, dict):
        return []
    if path and schema.get("sensitive") is True:
        return [path]
    found = []
    if isinstance(schema.get("properties"), dict):
        for name, subschema in schema["properties"].items():
            found += _sensitive_paths(subschema, [*path, name])
    if isinstance(schema.get("items"), dict):
        found += _sensitive_paths(schema["items"], [*path, "*"])
    return found


def _fill_defaults(instance: Any, schema: Any, resolver: referencing.Resolver) -> None:
    """Set missing properties that have a `default`, following `$ref`, nested objects and lists."""
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("$ref"), str):
        resolved = resolver.lookup(schema["$ref"])
        _fill_defaults(instance, resolved.contents, resolved.resolver)
        return
    for part in schema.get("allOf", ()):
        _fill_defaults(instance, part, resolver)
    if isinstance(instance, dict) and isinstance(schema.get("properties"), dict):
        for name, subschema in schema["properties"].items():
            if name not in instance:
                default = _default_of(subschema, resolver)
                if default is _MISSING:
                    continue
                instance[name] = copy.deepcopy(default)
            _fill_defaults(instance[name], subschema, resolver)
    if isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for element in instance:
                _fill_defaults(element, items, resolver)
        elif isinstance(items, list):
            for element, subschema in zip(instance, items):
                _fill_defaults(element, subschema, resolver)


_MISSING = object()


def _default_of(schema: Any, resolver: referencing.Resolver) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    if isinstance(schema, dict) and "default" in schema:
        return schema["default"]
    return _MISSING


def _load_yaml(filename: str, text: str) -> dict[str, Any]:
    try:
        document = load_yaml(text)
    except TooDeep as error:
        raise SchemaError(f"schema {filename}: {error}") from None
    except yaml.YAMLError as error:
        raise SchemaError(f"schema {filename}: {describe_yaml_error(error)}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SchemaError(f"schema {filename} is invalid: it must be a YAML mapping")
    return document


def _imports_of(filename: str, document: dict[str, Any]) -> list[str]:
    imports = document.get("imports") or []
    if not isinstance(imports, list):
        raise SchemaError(f"schema {filename} is invalid: imports must be a list")
    names = []
    for entry in imports:
        name = entry.get("path") or entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            raise SchemaError(f"schema {filename} is invalid: each import needs a path")
        names.append(name)
    return names


def describe_yaml_error(error: yaml.YAMLError) -> str:
    """`invalid YAML at line L, column C: problem` from a PyYAML error."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _property_path(error: jsonschema.ValidationError) -> str:
    path = "properties"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _schema_path(error: jsonschema.ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "top level"
