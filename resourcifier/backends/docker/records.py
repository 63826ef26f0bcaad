"""The stored objects: each applied object is a small labelled docker volume
(`dm.<ns>.<kind>.<name>`) whose labels hold the object, its uid and generation.

Records survive a restart of the resourcifier and of the engine, and need no extra image.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import docker

from dmcommon.identity import ObjectKey
from resourcifier.backends.docker.engine import (
    KIND,
    NAMESPACE,
    OBJECT,
    ROLE,
    ROLE_RECORD,
    Engine,
    owner_labels,
)
from resourcifier.backends.docker.kinds import key_for
from resourcifier.backends.docker.spec import SpecError


class Records:
    """Reads and writes the record of every object the backend was given."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def list(self, kind: str | None = None, namespace: str | None = None) -> list[dict]:
        """The records of one kind and/or namespace (None: any)."""
        labels = {ROLE: ROLE_RECORD}
        if kind:
            labels[KIND] = kind
        if namespace is not None:
            labels[NAMESPACE] = namespace
        return [json.loads(volume["Labels"][OBJECT]) for volume in self._engine.volumes(labels)]

    def read(self, key: ObjectKey) -> dict | None:
        """The object's record, or None when there is none."""
        try:
            volume = self._engine.api.inspect_volume(_volume(key))
        except docker.errors.NotFound:
            return None
        if (volume.get("Labels") or {}).get(ROLE) != ROLE_RECORD:
            return None
        return json.loads(volume["Labels"][OBJECT])

    def would_store(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]:
        """The record `store` would write for `obj`, without writing it."""
        return _record(key, obj, self.read(key))

    def store(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Record the applied object; keep uid and creation time, count spec changes."""
        previous = self.read(key)
        record = _record(key, obj, previous)
        if record is previous:
            return record
        volume = _volume(key)
        if previous is not None:
            self._engine.api.remove_volume(volume)
        labels = {**owner_labels(key, obj), ROLE: ROLE_RECORD, OBJECT: json.dumps(record)}
        self._engine.api.create_volume(volume, labels=labels)
        return record

    def remove(self, key: ObjectKey) -> None:
        """Forget the object; one never recorded is no error."""
        self._engine.remove_volume(_volume(key))

    def require_namespace(self, namespace: str) -> None:
        """Raise SpecError unless the namespace exists (`default` always does)."""
        if namespace == "default":
            return
        if self.read(key_for("Namespace", "", namespace)) is None:
            raise SpecError(f"namespace {namespace!r} not found")


def _record(key: ObjectKey, obj: dict[str, Any], previous: dict | None) -> dict[str, Any]:
    """The record of `obj` after `previous`: the same one when nothing changed."""
    if previous is not None and previous["applied"] == obj:
        return previous
    return {
        "applied": obj,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "uid": previous["uid"] if previous else str(uuid.uuid4()),
        "creationTimestamp": previous["creationTimestamp"] if previous else _now(),
        "generation": (previous["generation"] + 1) if previous else 1,
    }


def key_of(record: dict[str, Any]) -> ObjectKey:
    """The key of the object a record holds."""
    return key_for(record["kind"], record["namespace"], record["name"])


def _volume(key: ObjectKey) -> str:
    return f"dm.{key.namespace or '_'}.{key.kind.lower()}.{key.name}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
