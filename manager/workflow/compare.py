"""Comparing what DM applies with what the cluster holds: for skipping unchanged
resources, for drift reports and for the diffs of previews.

Only the fields DM applies count: a live object has many more (status, defaults the
server fills in, fields other managers own), and those never make it differ. Values of
Secrets are masked in every diff, so a diff never shows one.
"""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

import yaml

# Fields the server manages, left out of diffs.
_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
)
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def covers(live: Any, desired: Any) -> bool:
    """True when every field of `desired` has the same value in `live`."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            key in live and covers(live[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(covers(a, b) for a, b in zip(live, desired))
        )
    return live == desired


def applied_part(live: Any, desired: Any) -> Any:
    """`live` cut down to the fields `desired` has (what a diff against it should show)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {
            key: applied_part(live[key], value) for key, value in desired.items() if key in live
        }
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [applied_part(a, b) for a, b in zip(live, desired)]
    return live


def without_server_fields(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """A copy of `obj` without `status` and the metadata the server manages."""
    if obj is None:
        return None
    trimmed = {key: value for key, value in obj.items() if key != "status"}
    metadata = trimmed.get("metadata")
    if isinstance(metadata, dict):
        kept = {key: value for key, value in metadata.items() if key not in _SERVER_METADATA}
        annotations = {
            key: value
            for key, value in (kept.get("annotations") or {}).items()
            if key != _LAST_APPLIED
        }
        kept.pop("annotations", None)
        if annotations:
            kept["annotations"] = annotations
        trimmed["metadata"] = kept
    return trimmed


def masked(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """`obj` with the values of a Secret replaced by a size and a short hash, so a change
    stays visible while the value does not."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return obj
    copy = dict(obj)
    for field in ("data", "stringData"):
        values = obj.get(field)
        if isinstance(values, dict):
            copy[field] = {key: _mask(value) for key, value in values.items()}
    return copy


def _mask(value: Any) -> str:
    text = str(value)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"<redacted sha256:{digest} len={len(text)}>"


def unified_diff(before: Any, after: Any, name: str) -> str:
    """A unified diff from `before` (the live side) to `after`, as YAML; empty when equal."""
    old = [] if before is None else _yaml(masked(before)).splitlines(keepends=True)
    new = [] if after is None else _yaml(masked(after)).splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, f"live/{name}", f"desired/{name}"))


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True)
