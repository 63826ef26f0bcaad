"""A schema's `$ref`s to places inside it, replaced by what they point to, for validating.

Looking a reference up costs the validator far more than the check it leads to, and a
template invoked many times checks its properties as many times. In draft 4 a `$ref`
stands for the schema it points to and its sibling keywords are ignored, so a schema with
each such reference replaced by a copy of its target validates alike. Only references
that are JSON pointers into the same schema ("#/definitions/port", "#") are replaced,
and not those that lead back into one being replaced (recursive schemas) nor any in a
schema that sets `id` (which would change what they point to); the validator still looks
those, and references to other files, up as before.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value is a schema, a list of schemas or a mapping to schemas (draft 4).
_ONE = ("additionalItems", "additionalProperties", "items", "not")
_LIST = ("allOf", "anyOf", "oneOf", "items")
_MAPPING = ("definitions", "properties", "patternProperties", "dependencies")
# Copies of targets beyond this many schemas leave the schema as it is (a chain of
# references can double its size at each step).
_MAX_SCHEMAS = 10_000


class _Unchanged(Exception):
    """The schema is better left as it is."""


def inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or a copy with its local references replaced (see the module's text)."""
    inliner = _Inliner(schema)
    try:
        return inliner.schema(schema)
    except (_Unchanged, RecursionError):
        return schema


class _Inliner:
    def __init__(self, root: dict[str, Any]):
        self.root = root
        self.open: set[str] = set()
        self.count = 0

    def schema(self, node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        self.count += 1
        if self.count > _MAX_SCHEMAS or isinstance(node.get("id"), str):
            raise _Unchanged()
        ref = node.get("$ref")
        if isinstance(ref, str):
            return self.reference(node, ref)
        copy = dict(node)
        for key in _ONE:
            if isinstance(node.get(key), dict):
                copy[key] = self.schema(node[key])
        for key in _LIST:
            if isinstance(node.get(key), list):
                copy[key] = [self.schema(item) for item in node[key]]
        for key in _MAPPING:
            if isinstance(node.get(key), dict):
                copy[key] = {name: self.schema(value) for name, value in node[key].items()}
        return copy

    def reference(self, node: dict[str, Any], ref: str) -> Any:
        if ref in self.open or not (ref == "#" or ref.startswith("#/")) or "%" in ref:
            return node
        target = _pointed(self.root, ref[1:])
        if target is _NOWHERE:
            return node
        self.open.add(ref)
        try:
            return self.schema(target)
        finally:
            self.open.discard(ref)


_NOWHERE = object()


def _pointed(document: Any, pointer: str) -> Any:
    """What a JSON pointer ("/a/0/b", or "" for the whole) points to, else _NOWHERE."""
    node = document
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _NOWHERE
    return node
