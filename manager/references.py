"""References between resources: `$(ref.NAME.PATH)` strings, the graph they form, substitution.

A reference names another primitive of the same expanded configuration and a dotted
PATH (with `[index]` segments) into that resource's *live* object. The graph is checked
before anything is applied: unknown names, ambiguous names and cycles are `BadRequest`.
Resources are applied level by level: level 0 references nothing, level N references
only resources of lower levels.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from dmcommon.errors import BadRequest

_REFERENCE = re.compile(r"\$\(ref\.([^()\s]+)\)")
_SEGMENT = re.compile(r"([^.\[\]]+)?((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Reference:
    """One `$(ref.NAME.PATH)` occurrence: the resource it names and the path into it."""

    text: str
    name: str
    path: str

    def keys(self) -> list[str | int]:
        """PATH as lookup keys: `spec.ports[0].port` -> ["spec", "ports", 0, "port"]."""
        return parse_path(self.path)


class MissingValue(LookupError):
    """A reference's PATH does not exist in the live object."""


def parse_path(path: str) -> list[str | int]:
    """Split a dotted path with `[index]` segments into dict keys and list indices."""
    keys: list[str | int] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if not part or match is None or not (match.group(1) or match.group(2)):
            raise ValueError(f"invalid path {path!r}")
        if match.group(1):
            keys.append(match.group(1))
        keys.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return keys


def find_references(value: Any, names: set[str]) -> Iterator[Reference]:
    """Every reference in `value` (strings, nested anywhere in dicts and lists).

    Resource names may hold dots, so the longest known name that prefixes the
    reference wins; an unknown name is taken to end at the first dot.
    """
    if isinstance(value, str):
        for match in _REFERENCE.finditer(value):
            yield _split_reference(match.group(0), match.group(1), names)
    elif isinstance(value, dict):
        for item in value.values():
            yield from find_references(item, names)
    elif isinstance(value, list):
        for item in value:
            yield from find_references(item, names)


def _split_reference(text: str, body: str, names: set[str]) -> Reference:
    candidates = [name for name in names if body.startswith(name + ".")]
    if candidates:
        name = max(candidates, key=len)
        return Reference(text, name, body[len(name) + 1 :])
    name, _, path = body.partition(".")
    return Reference(text, name, path)


@dataclass
class DependencyGraph:
    """Which resources (by index in the expanded config) each resource depends on."""

    names: list[str]
    references: list[list[Reference]]
    depends_on: list[set[int]]
    levels: list[list[int]]


def build_graph(resources: list[dict[str, Any]]) -> DependencyGraph:
    """Check the references of an expanded config's resources and order them into levels.

    Raises `BadRequest` naming the resource and reference for an unknown or ambiguous
    name or a malformed path, and naming the whole cycle when there is one.
    """
    names = [resource["name"] for resource in resources]
    known = set(names)
    index_of: dict[str, int] = {}
    duplicated = {name for name in names if names.count(name) > 1}
    for index, name in enumerate(names):
        index_of.setdefault(name, index)
    references: list[list[Reference]] = []
    depends_on: list[set[int]] = []
    for index, resource in enumerate(resources):
        found = list(find_references(resource.get("properties"), known))
        for reference in found:
            _check_reference(resource["name"], reference, known, duplicated)
        references.append(found)
        depends_on.append({index_of[reference.name] for reference in found})
    cycle = _find_cycle(depends_on)
    if cycle:
        path = " -> ".join(names[index] for index in cycle)
        first, second = cycle[0], cycle[1]
        via = next(ref.text for ref in references[first] if index_of[ref.name] == second)
        raise BadRequest(
            f"resource {names[first]!r}: reference {via} forms a dependency cycle: {path}"
        )
    return DependencyGraph(names, references, depends_on, _levels(depends_on))


def _check_reference(owner: str, reference: Reference, known: set[str], duplicated: set[str]):
    where = f"resource {owner!r}: reference {reference.text}"
    if reference.name not in known:
        raise BadRequest(f"{where} names an unknown resource {reference.name!r}")
    if reference.name in duplicated:
        raise BadRequest(
            f"{where} is ambiguous: several resources of the configuration are named "
            f"{reference.name!r}"
        )
    if not reference.path:
        raise BadRequest(f"{where} has no path: write $(ref.{reference.name}.metadata.name)")
    try:
        reference.keys()
    except ValueError as error:
        raise BadRequest(f"{where}: {error}") from None


def _find_cycle(depends_on: list[set[int]]) -> list[int] | None:
    """A cycle as [a, b, ..., a] where each depends on the next, or None."""
    visiting, done = set(), set()
    stack: list[int] = []

    def visit(node: int) -> list[int] | None:
        visiting.add(node)
        stack.append(node)
        for dep in sorted(depends_on[node]):
            if dep in visiting:
                return stack[stack.index(dep) :] + [dep]
            if dep not in done:
                found = visit(dep)
                if found:
                    return found
        visiting.discard(node)
        done.add(node)
        stack.pop()
        return None

    for start in range(len(depends_on)):
        if start not in done:
            found = visit(start)
            if found:
                return found
    return None


def _levels(depends_on: list[set[int]]) -> list[list[int]]:
    """Group an acyclic graph into levels; each level depends only on earlier ones."""
    level_of: dict[int, int] = {}
    remaining = set(range(len(depends_on)))
    while remaining:
        ready = [i for i in sorted(remaining) if depends_on[i].issubset(level_of)]
        for i in ready:
            level_of[i] = max((level_of[dep] + 1 for dep in depends_on[i]), default=0)
        remaining.difference_update(ready)
    count = max(level_of.values(), default=-1) + 1
    return [[i for i in sorted(level_of) if level_of[i] == level] for level in range(count)]


def lookup(obj: Any, reference: Reference) -> Any:
    """The value at the reference's PATH in the live object `obj`; `MissingValue` if absent."""
    value = obj
    for key in reference.keys():
        if isinstance(key, int):
            if not isinstance(value, list) or key >= len(value):
                raise MissingValue(reference.path)
            value = value[key]
        else:
            if not isinstance(value, dict) or key not in value:
                raise MissingValue(reference.path)
            value = value[key]
    return value


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """`value` with every reference replaced from `values` (reference text -> value).

    A string that is exactly one reference takes the value itself (keeping its type);
    a reference inside a longer string is replaced by its text (JSON for non-strings).
    """
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole and value in values:
            return values[value]
        return _REFERENCE.sub(
            lambda match: _as_text(values.get(match.group(0), match.group(0))), value
        )
    if isinstance(value, dict):
        return {key: substitute(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, values) for item in value]
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
