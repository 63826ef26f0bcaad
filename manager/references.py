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
from collections import Counter
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
    dots = [position for position, char in enumerate(body) if char == "."]
    for dot in reversed(dots):
        if body[:dot] in names:
            return Reference(text, body[:dot], body[dot + 1 :])
    name, _, path = body.partition(".")
    return Reference(text, name, path)


@dataclass
class DependencyGraph:
    """Which resources (by index in the expanded config) each resource depends on."""

    names: list[str]
    index_of: dict[str, int]
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
    duplicated = {name for name, count in Counter(names).items() if count > 1}
    index_of = {name: index for index, name in enumerate(names)}
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
    return DependencyGraph(names, index_of, references, depends_on, _levels(depends_on))


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
    """A cycle as [a, b, ..., a] where each depends on the next, or None.

    Depth-first without recursion: a long chain of references must not hit Python's
    recursion limit.
    """
    new, open_, done = 0, 1, 2
    mark = [new] * len(depends_on)
    for start in range(len(depends_on)):
        if mark[start] != new:
            continue
        mark[start] = open_
        path = [start]
        pending = [iter(sorted(depends_on[start]))]
        while pending:
            for dep in pending[-1]:
                if mark[dep] == open_:
                    return path[path.index(dep) :] + [dep]
                if mark[dep] == new:
                    mark[dep] = open_
                    path.append(dep)
                    pending.append(iter(sorted(depends_on[dep])))
                    break
            else:
                mark[path.pop()] = done
                pending.pop()
    return None


def _levels(depends_on: list[set[int]]) -> list[list[int]]:
    """Group an acyclic graph into levels; each level depends only on earlier ones.

    A resource's level is one more than the highest level among what it depends on
    (Kahn's order, linear in resources plus references).
    """
    dependents: list[list[int]] = [[] for _ in depends_on]
    waiting = [len(deps) for deps in depends_on]
    for index, deps in enumerate(depends_on):
        for dep in deps:
            dependents[dep].append(index)
    level_of = [0] * len(depends_on)
    ready = [index for index, count in enumerate(waiting) if count == 0]
    while ready:
        index = ready.pop()
        for dependent in dependents[index]:
            level_of[dependent] = max(level_of[dependent], level_of[index] + 1)
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    levels: list[list[int]] = [[] for _ in range(max(level_of, default=-1) + 1)]
    for index, level in enumerate(level_of):
        levels[level].append(index)
    return levels


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
