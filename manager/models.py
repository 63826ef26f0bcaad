"""The manager's plain data: deployments, manifests, operations, type instances.

Python names are snake_case; `to_dict` speaks the camelCase wire format of docs/api.md,
while `to_record`/`from_record` (where present) speak the storage form, which also
keeps internal bookkeeping (dependency levels, settled markers, leases) that never
reaches the wire. Timestamps are RFC 3339 UTC strings.

One module on purpose, though over 400 lines: it is the manager's whole data model,
plain dataclasses and their wire forms with no logic, and reading it in one place is
how one learns the API's objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

# Deployment statuses.
DEPLOYING = "Deploying"
DEPLOYED = "Deployed"
UPDATING = "Updating"
DELETING = "Deleting"
FAILED = "Failed"
IN_PROGRESS = frozenset({DEPLOYING, UPDATING, DELETING})

# Resource statuses.
APPLYING = "Applying"
CREATED = "Created"
UNCHANGED = "Unchanged"
DELETED = "Deleted"
ABORTED = "Aborted"
DELETING_RESOURCE = "Deleting"

# Operation (and step) statuses.
PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
CANCELLED = "Cancelled"
ENDED = frozenset({SUCCEEDED, FAILED, CANCELLED})

# Operation types.
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
ROLLBACK = "rollback"
SYNC = "sync"
APPLY_PREVIEW = "apply-preview"
OPERATION_TYPES = (CREATE, UPDATE, DELETE, ROLLBACK, SYNC, APPLY_PREVIEW)


def utc_now() -> str:
    """Now as RFC 3339 UTC with microseconds, e.g. 2026-11-22T04:20:08.123456Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ImportFile:
    name: str
    content: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path or self.name, "content": self.content}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportFile:
        return cls(name=data["name"], content=data["content"], path=data.get("path"))


@dataclass
class Options:
    """How an operation runs: its deadline, whether it waits for health, whether a
    failure rolls back."""

    timeout: float = 300.0
    wait: bool = True
    atomic: bool = False
    strict_undefined: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "timeout": self.timeout,
            "wait": self.wait,
            "atomic": self.atomic,
            "strictUndefined": self.strict_undefined,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Options:
        data = data or {}
        return cls(
            timeout=float(data.get("timeout", 300.0)),
            wait=bool(data.get("wait", True)),
            atomic=bool(data.get("atomic", False)),
            strict_undefined=bool(data.get("strictUndefined", False)),
        )


@dataclass
class Template:
    """A deployment request: the configuration text and the files it imports."""

    name: str
    content: str
    imports: list[ImportFile] = field(default_factory=list)
    namespace: str | None = None
    options: Options | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "content": self.content,
            "imports": [item.to_dict() for item in self.imports],
        }
        if self.namespace is not None:
            data["namespace"] = self.namespace
        if self.options is not None:
            data["options"] = self.options.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        options = data.get("options")
        return cls(
            name=data["name"],
            content=data["content"],
            imports=[ImportFile.from_dict(item) for item in data.get("imports") or []],
            namespace=data.get("namespace"),
            options=Options.from_dict(options) if isinstance(options, dict) else None,
        )


@dataclass
class State:
    """Status plus the errors that explain it; used by deployments and resources."""

    status: str
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "errors": list(self.errors)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        return cls(status=data["status"], errors=list(data.get("errors") or []))


@dataclass
class Health:
    """How a live object is doing: Healthy, Progressing, Degraded, Missing or Unknown."""

    status: str
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "message": self.message}

    @classmethod
    def from_dict(cls, data: Any) -> Health | None:
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        return cls(status=data["status"], message=str(data.get("message") or ""))


@dataclass
class ResourceState:
    """What happened to one resource of a manifest."""

    status: str
    errors: list[str] = field(default_factory=list)
    health: Health | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "errors": list(self.errors)}
        if self.health is not None:
            data["health"] = self.health.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Any) -> ResourceState | None:
        if not isinstance(data, dict) or not isinstance(data.get("status"), str):
            return None
        return cls(
            status=data["status"],
            errors=list(data.get("errors") or []),
            health=Health.from_dict(data.get("health")),
        )


@dataclass
class ManifestResource:
    """One primitive of a manifest: the object to apply and, once tried, its state."""

    name: str
    type: str
    properties: dict[str, Any]
    state: ResourceState | None = None

    @property
    def status(self) -> str | None:
        return None if self.state is None else self.state.status

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "properties": self.properties}
        if self.state is not None:
            data["state"] = self.state.to_dict()
        return data

    def to_wire(self) -> dict[str, Any]:
        """What the resourcifier is sent: the resource without its state."""
        return {"name": self.name, "type": self.type, "properties": self.properties}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ManifestResource:
        return cls(
            name=data["name"],
            type=data.get("type") or "",
            properties=data.get("properties") or {},
            state=ResourceState.from_dict(data.get("state")),
        )


@dataclass
class Manifest:
    """One version of a deployment: its input, expanded resources and layout.

    `levels` (resource indices by dependency level), `namespace` and `settled` (every
    object earlier manifests left that this one lacks is gone) are bookkeeping of the
    workflow, kept in storage and never shown on the wire.
    """

    deployment: str
    name: str
    created_at: str
    input_config: Template
    resources: list[ManifestResource]
    layout: dict[str, Any]
    revision: int = 0
    warnings: list[str] = field(default_factory=list)
    namespace: str = ""
    levels: list[list[int]] = field(default_factory=list)
    settled: bool = False
    operation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "name": self.name,
            "revision": self.revision,
            "createdAt": self.created_at,
            "inputConfig": self.input_config.to_dict(),
            "expandedConfig": {"resources": [item.to_dict() for item in self.resources]},
            "layout": self.layout,
            "warnings": list(self.warnings),
        }

    def expanded_record(self) -> dict[str, Any]:
        """The stored form of the expanded config, with the workflow's bookkeeping."""
        return {
            "resources": [item.to_dict() for item in self.resources],
            "levels": self.levels,
            "namespace": self.namespace,
            "settled": self.settled,
        }

    def dependency_levels(self) -> list[list[int]]:
        return self.levels or [list(range(len(self.resources)))]


@dataclass
class Deployment:
    name: str
    namespace: str
    created_at: str
    state: State
    deployed_at: str | None = None
    modified_at: str | None = None
    latest_manifest: str | None = None
    fingerprint: str = ""
    revision: int = 0
    operation: str | None = None
    health: Health | None = None
    sync: str = "Unknown"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "createdAt": self.created_at,
            "deployedAt": self.deployed_at,
            "modifiedAt": self.modified_at,
            "state": self.state.to_dict(),
            "health": self.health.to_dict() if self.health else None,
            "sync": self.sync,
            "latestManifest": self.latest_manifest,
            "revision": self.revision,
            "operation": self.operation,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class Step:
    """One thing an operation does to one resource: apply, wait, delete or skip.

    A step never changes: the next state of a step replaces it, so its JSON text is made
    once however often the operation is recorded."""

    resource: str
    action: str
    status: str = PENDING
    message: str = ""
    started_at: str | None = None
    ended_at: str | None = None
    phase: str = ""
    """Empty for the change itself; `rollback` for the steps that undo a failed atomic one."""

    def to_dict(self) -> dict[str, Any]:
        data = {
            "resource": self.resource,
            "action": self.action,
            "status": self.status,
            "message": self.message,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
        }
        if self.phase:
            data["phase"] = self.phase
        return data

    @cached_property
    def json_text(self) -> str:
        """`to_dict()` as JSON text."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        return cls(
            resource=data["resource"],
            action=data["action"],
            status=data.get("status", PENDING),
            message=data.get("message", ""),
            started_at=data.get("startedAt"),
            ended_at=data.get("endedAt"),
            phase=data.get("phase", ""),
        )


@dataclass
class Operation:
    """A change of one deployment, run in the background and recorded step by step.

    `params` (what the action needs to resume, e.g. keepResources), `owner` and
    `heartbeat` (its lease) and `cancel_requested` are internal.
    """

    id: str
    deployment: str
    type: str
    status: str
    created_at: str
    manifest: str | None = None
    steps: list[Step] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started_at: str | None = None
    ended_at: str | None = None
    options: Options = field(default_factory=Options)
    params: dict[str, Any] = field(default_factory=dict)
    owner: str | None = None
    heartbeat: float | None = None
    cancel_requested: bool = False
    deadline: float = 0.0

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def to_dict(self) -> dict[str, Any]:
        done = sum(1 for step in self.steps if step.status not in (PENDING, RUNNING))
        return {
            "id": self.id,
            "deployment": self.deployment,
            "type": self.type,
            "status": self.status,
            "manifest": self.manifest,
            "progress": {"total": len(self.steps), "done": done},
            "steps": [step.to_dict() for step in self.steps],
            "errors": list(self.errors),
            "options": self.options.to_dict(),
            "createdAt": self.created_at,
            "startedAt": self.started_at,
            "endedAt": self.ended_at,
        }


@dataclass
class Preview:
    """A change shown before it is made: the manifest it would roll out and its plan.

    `fingerprint` is the deployment's when the preview was made ("" for a deployment
    that did not exist); applying the preview checks it did not change since.
    """

    deployment: str
    manifest: Manifest
    fingerprint: str
    plan: list[dict[str, Any]]
    created_at: str
    running_operation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "manifest": self.manifest.name,
            "fingerprint": self.fingerprint,
            "createdAt": self.created_at,
            "plan": self.plan,
            "warnings": list(self.manifest.warnings),
            "runningOperation": self.running_operation,
        }


@dataclass
class TypeInstance:
    """Where a type is used: the node at `path` in the layout of `manifest`."""

    name: str
    type: str
    deployment: str
    manifest: str
    path: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "deployment": self.deployment,
            "manifest": self.manifest,
            "path": self.path,
        }
