"""The backend interface under the resourcifier's REST layer.

A backend applies, deletes and reads Kubernetes-shaped objects on some runtime. The
kubectl backend drives a Kubernetes cluster; another runtime (Docker) is another
implementation. The REST layer validates input, picks the backend once at start-up
and renders what the backend returns; it never knows which runtime is behind it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

CREATED = "Created"
DELETED = "Deleted"
FAILED = "Failed"


@dataclass
class ResourceResult:
    """What happened to one resource of a batch: its state and the errors that concern it."""

    status: str
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "errors": list(self.errors)}


class Backend(ABC):
    """Applies, deletes and reads objects. Objects are Kubernetes-shaped dicts."""

    @abstractmethod
    def apply(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        """Create or update every object; one result per object, in order."""

    @abstractmethod
    def delete(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        """Delete every object; an object that is already gone counts as deleted."""

    @abstractmethod
    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
        """The live object; raises `dmcommon.errors.NotFound` when it is absent."""

    @abstractmethod
    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        """The live objects of one kind."""

    def check(self) -> None:
        """Raise `dmcommon.errors.ServiceUnavailable` when the runtime cannot be reached."""
