"""What makes a Kubernetes-shaped object unique, written once for every service."""

from __future__ import annotations

from typing import Any, NamedTuple


def group_of(api_version: str) -> str:
    """`apps/v1` -> `apps`; `v1` (the core group) -> ``."""
    return api_version.rpartition("/")[0]


class ObjectKey(NamedTuple):
    """An object's identity on a cluster: API group, kind, namespace, name.

    The version is left out on purpose: apps/v1 and apps/v1beta1 name the same object.
    """

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        """`Kind.group namespace/name` for messages."""
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind}{'.' + self.group if self.group else ''} {where}"


def object_key(obj: dict[str, Any], namespace: str) -> ObjectKey:
    """The key of `obj`; `namespace` stands in when its metadata names none.

    Tolerant of a malformed object (missing fields become empty strings), so that it
    can key records read back from storage; the REST layers validate before keying.
    """
    metadata = obj.get("metadata") or {}
    return ObjectKey(
        group_of(str(obj.get("apiVersion") or "")),
        str(obj.get("kind") or ""),
        metadata.get("namespace") or namespace,
        str(metadata.get("name") or ""),
    )
