"""Label and field selectors as they arrive in `labelSelector=` and `fieldSelector=` queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .status import bad_request

_REQUIREMENT = re.compile(
    r"""^\s*(?:
        (?P<not>!)\s*(?P<absent>[^\s!=(),]+)
      | (?P<setkey>[^\s!=(),]+)\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)
      | (?P<key>[^\s!=(),]+)\s*(?P<op>==|!=|=)\s*(?P<value>[^\s!=(),]*)
      | (?P<exists>[^\s!=(),]+)
    )\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Requirement:
    """One clause of a selector: `key op values`."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: dict) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values


def _split_clauses(text: str) -> list[str]:
    """Split on commas that are not inside an `in (...)` value list."""
    clauses, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            clauses.append("".join(current))
            current = []
        else:
            current.append(char)
    clauses.append("".join(current))
    return [clause for clause in clauses if clause.strip()]


def parse_label_selector(text: str | None) -> Callable[[dict], bool]:
    """A predicate over a label map; raises 400 for a selector it cannot read."""
    if not text:
        return lambda labels: True
    requirements = []
    for clause in _split_clauses(text):
        match = _REQUIREMENT.match(clause)
        if not match:
            raise bad_request(f"unable to parse requirement: invalid label selector: {clause!r}")
        if match["absent"]:
            requirements.append(Requirement(match["absent"], "!exists"))
        elif match["setkey"]:
            values = tuple(v.strip() for v in match["values"].split(",") if v.strip())
            operator = "in" if match["setop"] == "in" else "notin"
            requirements.append(Requirement(match["setkey"], operator, values))
        elif match["key"]:
            operator = "!=" if match["op"] == "!=" else "="
            requirements.append(Requirement(match["key"], operator, (match["value"],)))
        else:
            requirements.append(Requirement(match["exists"], "exists"))
    return lambda labels: all(r.matches(labels or {}) for r in requirements)


FIELD_PATHS = {"metadata.name": "name", "metadata.namespace": "namespace"}


def parse_field_selector(text: str | None) -> Callable[[dict], bool]:
    """A predicate over an object for `metadata.name`/`metadata.namespace` (=, ==, !=)."""
    if not text:
        return lambda obj: True
    checks = []
    for clause in _split_clauses(text):
        match = re.match(r"^\s*([\w.]+)\s*(==|!=|=)\s*([^\s,]*)\s*$", clause)
        if not match:
            raise bad_request(f"invalid field selector: {clause!r}")
        path, operator, value = match.groups()
        if path not in FIELD_PATHS:
            raise bad_request(
                f'field label not supported: "{path}" (the simulator knows metadata.name and '
                "metadata.namespace)"
            )
        checks.append((FIELD_PATHS[path], operator != "!=", value))

    def predicate(obj: dict) -> bool:
        metadata = obj.get("metadata") or {}
        return all((metadata.get(key, "") == value) == equal for key, equal, value in checks)

    return predicate
