"""Answers for `Accept: ...;as=Table`, which `kubectl get` asks for to print its columns."""

from __future__ import annotations

from datetime import datetime, timezone

from .catalog import ResourceType

_COLUMNS = [
    {"name": "Name", "type": "string", "format": "name", "priority": 0,
     "description": "Name of the object."},
    {"name": "Age", "type": "string", "format": "", "priority": 0,
     "description": "Time since the object was created."},
]


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """Short age in kubectl's style: 42s, 5m10s, 3h, 12d."""
    if not timestamp:
        return "<unknown>"
    created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - created).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _metadata_only(obj: dict) -> dict:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def as_table(rt: ResourceType, items: list[dict], version: str, full_objects: bool) -> dict:
    """A meta.k8s.io/v1 Table with Name and Age columns (plus Status for namespaces)."""
    columns = list(_COLUMNS)
    if rt.kind == "Namespace":
        columns.insert(1, {"name": "Status", "type": "string", "format": "", "priority": 0,
                           "description": "The phase of the namespace."})
    rows = []
    for obj in items:
        metadata = obj.get("metadata") or {}
        cells = [metadata.get("name", ""), age(metadata.get("creationTimestamp"))]
        if rt.kind == "Namespace":
            cells.insert(1, (obj.get("status") or {}).get("phase", "Active"))
        rows.append({"cells": cells, "object": obj if full_objects else _metadata_only(obj)})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": columns,
        "rows": rows,
    }
