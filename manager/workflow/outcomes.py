"""What the resourcifier answered for a resource, and what rollouts recorded: the pieces
that applying, pruning and previews share."""

from __future__ import annotations

from typing import Any

from dmcommon.identity import ObjectKey, object_key
from manager.models import CREATED, FAILED, UNCHANGED, Manifest, ManifestResource, ResourceState

APPLIED = (CREATED, UNCHANGED)
"""Resource statuses after which the object is on the cluster as the manifest has it."""


def applied_objects(manifests: list[Manifest]) -> dict[ObjectKey, dict[str, Any]]:
    """The object each key had when last applied, from manifests listed newest first."""
    found: dict[ObjectKey, dict[str, Any]] = {}
    for manifest in manifests:
        for record in manifest.resources:
            if record.status in APPLIED:
                key = object_key(record.properties, manifest.namespace)
                found.setdefault(key, record.properties)
    return found


def state_of(result: Any) -> ResourceState:
    """The state the resourcifier answered for one resource."""
    state = ResourceState.from_dict(result.get("state") if isinstance(result, dict) else None)
    if state is None:
        return ResourceState(FAILED, ["the resourcifier returned no state for this resource"])
    return state


def error_lines(records: list[ManifestResource]) -> list[str]:
    """One line per resource that failed, naming it; aborted ones are implied by those."""
    lines = []
    for record in records:
        if record.status == FAILED:
            detail = "; ".join(record.state.errors) or "failed"
            lines.append(f"resource {record.name!r}: {detail}")
    return lines
