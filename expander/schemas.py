"""Template schemas: `<template>.schema` files that fill in defaults and validate properties.

A schema is YAML with `info`, `imports`, `required` and `properties`; everything but
`info` and `imports` is read as a JSON Schema (draft 4) for the template's properties.
`$ref` may point inside the schema (`#/definitions/port`) or at another supplied file
(`common.schema#/definitions/port`). A property marked `sensitive: true` holds a secret:
its value never appears in a violation message (dmcommon.redact).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema
import yaml

from dmcommon.documents import TooDeep, load_yaml
from dmcommon.errors import BadRequest
from dmcommon.redact import Redactor, leaf_texts, values_at
from expander.schema_refs import inline_local_refs

_NOT_SCHEMA_KEYS = ("info", "imports")
_META = jsonschema.Draft4Validator(jsonschema.Draft4Validator.META_SCHEMA)


class SchemaError(BadRequest):
    """A schema is broken, names files that were not supplied, or the properties break it."""


@dataclass(frozen=True)
class _Checked:
    """What a schema's text alone decides: its JSON Schema part (read only), its
    `imports:` entries as `(name, path)`, why it is invalid (None when it is not), and
    what properties are validated against (the JSON Schema part, or a copy that looks
    up fewer references: `expander.schema_refs`)."""

    document: dict[str, Any]
    imports: list[tuple[str | None, str | None]]
    problem: str | None
    validated: dict[str, Any] | None = None


# Schemas checked once and kept by the fork server, so its children skip the work.
_CHECKED: dict[tuple[str, str], _Checked] = {}
_CHECKED_BUDGET = 4 * 1024 * 1024
_LARGEST_KEPT = 64 * 1024
_kept_size = 0


def remember(filename: str, text: str) -> None:
    """Check a schema and keep the outcome in this process, when that is cheap and safe:
    a small text whose nodes are not shared (aliases), so the check takes time in
    proportion to the text. Problems are left to the request that meets them."""
    global _kept_size
    key = (filename, text)
    if key in _CHECKED or len(text) > _LARGEST_KEPT or _kept_size + len(text) > _CHECKED_BUDGET:
        return
    try:
        document = _load_yaml(filename, text)
        if _shares_nodes(document):
            return
        checked = _check(filename, document)
    except SchemaError:
        return
    if checked.problem is None:
        checked = dataclasses.replace(checked, validated=inline_local_refs(checked.document))
    _CHECKED[key] = checked
    _kept_size += len(text)


def remembered_bytes() -> int:
    """Schema text whose checked outcome this process keeps; it grows when one is kept."""
    return _kept_size


def _shares_nodes(document: Any) -> bool:
    seen: set[int] = set()
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, (dict, list)):
            if id(item) in seen:
                return True
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return False


def _check(filename: str, document: dict[str, Any]) -> _Checked:
    imports = _imports_of(filename, document)
    schema = {k: v for k, v in document.items() if k not in _NOT_SCHEMA_KEYS}
    # Draft 4 wants a non-empty `required`; an empty one means "nothing required".
    if schema.get("required") == []:
        del schema["required"]
    schema.setdefault("type", "object")
    problems = sorted(_META.iter_errors(schema), key=lambda e: list(map(str, e.path)))
    details = "; ".join(f"{e.message} (at {_schema_path(e)})" for e in problems)
    problem = f"schema {filename} is invalid: {details}" if details else None
    return _Checked(schema, imports, problem)


class Schema:
    """A parsed template schema, ready to fill defaults into properties and validate them."""

    def __init__(
        self,
        filename: str,
        text: str,
        find_source: Callable[[str], tuple[str, str] | None],
    ):
        self.filename = filename
        checked = _CHECKED.get((filename, text)) or _check(filename, _load_yaml(filename, text))
        for name, path in checked.imports:
            # As in configurations, an entry is the import of its name, else of its path.
            if not any(key and find_source(key) for key in (name, path)):
                raise SchemaError(
                    f"schema {filename} imports '{name or path}', which was not supplied"
                    " with the request"
                )
        if checked.problem:
            raise SchemaError(checked.problem)
        self.document = checked.document
        self.sensitive_paths = _sensitive_paths(self.document, [])

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
        self.validator = jsonschema.Draft4Validator(
            checked.validated or self.document, registry=self.registry
        )
        self._resolver = self.registry.resolver(filename)
        # `$ref` lookups made while filling defaults, each made once: the same resolvers
        # recur, since resolved references carry theirs.
        self._resolved: dict[tuple[int, str], tuple[referencing.Resolver, Any]] = {}

    def _lookup(self, resolver: referencing.Resolver, ref: str) -> Any:
        key = (id(resolver), ref)
        found = self._resolved.get(key)
        if found is None or found[0] is not resolver:
            found = self._resolved[key] = (resolver, resolver.lookup(ref))
        return found[1]

    def apply(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Return `properties` with defaults filled in, or raise listing every violation."""
        filled = copy.deepcopy(properties)
        try:
            _fill_defaults(filled, self.document, self._resolver, self._lookup)
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


# (resolver, $ref) -> what the reference resolves to
_Lookup = Callable[[Any, str], Any]


def _fill_defaults(
    instance: Any, schema: Any, resolver: referencing.Resolver, lookup: _Lookup
) -> None:
    """Set missing properties that have a `default`, following `$ref`, nested objects and lists."""
    if not isinstance(schema, dict):
        return
    if isinstance(schema.get("$ref"), str):
        resolved = lookup(resolver, schema["$ref"])
        _fill_defaults(instance, resolved.contents, resolved.resolver, lookup)
        return
    for part in schema.get("allOf", ()):
        _fill_defaults(instance, part, resolver, lookup)
    if isinstance(instance, dict) and isinstance(schema.get("properties"), dict):
        for name, subschema in schema["properties"].items():
            if name not in instance:
                default = _default_of(subschema, resolver, lookup)
                if default is _MISSING:
                    continue
                instance[name] = copy.deepcopy(default)
            _fill_defaults(instance[name], subschema, resolver, lookup)
    if isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for element in instance:
                _fill_defaults(element, items, resolver, lookup)
        elif isinstance(items, list):
            for element, subschema in zip(instance, items):
                _fill_defaults(element, subschema, resolver, lookup)


_MISSING = object()


def _default_of(schema: Any, resolver: referencing.Resolver, lookup: _Lookup) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        resolved = lookup(resolver, schema["$ref"])
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


def _imports_of(filename: str, document: dict[str, Any]) -> list[tuple[str | None, str | None]]:
    """The `(name, path)` of each entry of the schema's `imports:`."""
    imports = document.get("imports") or []
    if not isinstance(imports, list):
        raise SchemaError(f"schema {filename} is invalid: imports must be a list")
    entries = []
    for entry in imports:
        if not isinstance(entry, dict):
            raise SchemaError(f"schema {filename} is invalid: each import needs a path")
        name, path = entry.get("name"), entry.get("path")
        if not isinstance(name or path, str) or not all(
            isinstance(key, (str, type(None))) for key in (name, path)
        ):
            raise SchemaError(f"schema {filename} is invalid: each import needs a path")
        entries.append((name, path))
    return entries


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
