"""The manager's plain data: deployments, manifests, type instances.

Python names are snake_case; `to_dict`/`from_dict` speak the camelCase wire format of
docs/api.md. Timestamps are RFC 3339 UTC strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Deployment statuses.
DEPLOYING = "Deploying"
DEPLOYED = "Deployed"
UPDATING = "Updating"
DELETING = "Deleting"
FAILED = "Failed"
IN_PROGRESS = frozenset({DEPLOYING, UPDATING, DELETING})

# Resource statuses.
CREATED = "Created"
DELETED = "Deleted"
ABORTED = "Aborted"


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
class Template:
    """A deployment request: the configuration text and the files it imports."""

    name: str
    content: str
    imports: list[ImportFile] = field(default_factory=list)
    namespace: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "content": self.content,
            "imports": [item.to_dict() for item in self.imports],
        }
        if self.namespace is not None:
            data["namespace"] = self.namespace
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        return cls(
            name=data["name"],
            content=data["content"],
            imports=[ImportFile.from_dict(item) for item in data.get("imports") or []],
            namespace=data.get("namespace"),
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
class Manifest:
    """One version of a deployment: its input, expanded config and layout."""

    deployment: str
    name: str
    created_at: str
    input_config: Template
    expanded_config: dict[str, Any]
    layout: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "name": self.name,
            "createdAt": self.created_at,
            "inputConfig": self.input_config.to_dict(),
            "expandedConfig": self.expanded_config,
            "layout": self.layout,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        return cls(
            deployment=data["deployment"],
            name=data["name"],
            created_at=data["createdAt"],
            input_config=Template.from_dict(data["inputConfig"]),
            expanded_config=data["expandedConfig"],
            layout=data["layout"],
        )


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "createdAt": self.created_at,
            "deployedAt": self.deployed_at,
            "modifiedAt": self.modified_at,
            "state": self.state.to_dict(),
            "latestManifest": self.latest_manifest,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        return cls(
            name=data["name"],
            namespace=data["namespace"],
            created_at=data["createdAt"],
            deployed_at=data.get("deployedAt"),
            modified_at=data.get("modifiedAt"),
            state=State.from_dict(data["state"]),
            latest_manifest=data.get("latestManifest"),
            fingerprint=data.get("fingerprint", ""),
        )


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TypeInstance:
        return cls(**{key: data[key] for key in ("name", "type", "deployment", "manifest", "path")})
