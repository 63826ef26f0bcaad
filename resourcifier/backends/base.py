"""The backend interface under the resourcifier's REST layer.

A backend applies, deletes and reads Kubernetes-shaped objects on some runtime. The
kubectl backend drives a Kubernetes cluster; another runtime (Docker) is another
implementation. The REST layer validates input, picks the backend once at start-up
and renders what the backend returns; it never knows which runtime is behind it.
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable

from resourcifier.health import Health

CREATED = "Created"
DELETED = "Deleted"
FAILED = "Failed"


@dataclass
class ResourceResult:
    """What happened to one resource of a batch: its state and the errors that concern it.

    `live` is the object as the runtime holds it after a successful apply (with its
    status, uid, generated fields); None when unknown or after a delete. It lets the
    caller read values back without a second round trip.
    """

    status: str
    errors: list[str] = field(default_factory=list)
    live: dict[str, Any] | None = None
    health: Health | None = None

    def to_dict(self) -> dict[str, Any]:
        """The resource's `state` on the wire (`live` travels beside it, not inside)."""
        data: dict[str, Any] = {"status": self.status, "errors": list(self.errors)}
        if self.health is not None:
            data["health"] = self.health.to_dict()
        return data


@dataclass
class Observation:
    """One object as the runtime holds it now (None when absent) and how it is doing."""

    live: dict[str, Any] | None
    health: Health


class Backend(ABC):
    """Applies, deletes and reads objects. Objects are Kubernetes-shaped dicts.

    `namespace` is the request's namespace (None: the backend's default). An object's
    own `metadata.namespace` wins over it.
    """

    @abstractmethod
    def apply(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        """Create or update every object; one result per object, in order.

        An applied object's result carries its live object and health (a dry run's, the
        object the runtime would store and no health).
        """

    @abstractmethod
    def delete(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        """Delete every object; an object that is already gone counts as deleted, and so
        does one whose kind the runtime does not serve (none of that kind can exist)."""

    @abstractmethod
    def observe(self, objects: list[dict[str, Any]], namespace: str | None) -> list[Observation]:
        """Each object's live state and health, in order, read in one batch."""

    @abstractmethod
    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
        """The live object; raises `dmcommon.errors.NotFound` when it (or its kind) is absent."""

    @abstractmethod
    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        """The live objects of one kind; raises `NotFound` when the kind is unknown."""

    def unknown_kinds(self, objects: list[dict[str, Any]]) -> dict[int, str]:
        """Objects whose kind the runtime does not know at all: index -> reason.

        The REST layer never hands these to `apply` or `observe`: applying one fails that
        resource alone with the reason, and observing one finds it Missing. A delete
        does not ask (no object of such a kind can exist).
        """
        return {}

    def check(self) -> None:
        """Raise `dmcommon.errors.ServiceUnavailable` when the runtime cannot be reached."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate spelled most like `word`, if any is close (for "did you mean")."""
    close = difflib.get_close_matches(word, list(candidates), n=1)
    return close[0] if close else None
