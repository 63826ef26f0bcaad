"""The Repository interface: what the workflow needs from storage.

One SQL implementation (SQLAlchemy Core) serves SQLite and PostgreSQL. Every method is
atomic. Operations live here too, with their steps, events and leases, so that several
manager replicas sharing one PostgreSQL database run one operation per deployment,
serve each other's event streams and resume each other's operations.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from manager.models import Deployment, Health, Manifest, Operation, Preview, TypeInstance


class Repository(ABC):
    owner: str
    """This process's name as an operation owner (see lease.py)."""

    # Deployments

    @abstractmethod
    def get_deployment(self, name: str) -> Deployment:
        """The deployment; `NotFound` when absent."""

    @abstractmethod
    def list_deployment_names(self, limit: int | None = None, after: str = "") -> list[str]:
        """Names of deployments sorted, those after `after`, at most `limit` of them."""

    @abstractmethod
    def list_deployments(self, limit: int | None = None, after: str = "") -> list[Deployment]:
        """Deployments sorted by name, those after `after`, at most `limit` of them."""

    @abstractmethod
    def save_deployment(
        self, deployment: Deployment, expected_fingerprint: str | None = None
    ) -> Deployment:
        """Replace the stored deployment and give it a new fingerprint.

        With `expected_fingerprint`, raise `Conflict` if the stored one differs.
        """

    @abstractmethod
    def record_sync(self, name: str, sync: str, health: Health | None = None) -> None:
        """Record the result of a drift check (and the health it read, when given); not a
        change, so the fingerprint stays."""

    @abstractmethod
    def delete_deployment(self, name: str) -> None:
        """Remove the deployment, its manifests and its type instances; `NotFound` if absent."""

    # Operations

    @abstractmethod
    def start_operation(
        self,
        operation: Operation,
        deployment: Deployment,
        manifest: Manifest | None = None,
        create: bool = False,
        expected_fingerprint: str | None = None,
    ) -> Deployment:
        """Store `operation` (owned by this process) and make it the deployment's, at once.

        With `create` the deployment is new (`Conflict` when the name exists); otherwise
        the stored one must be idle (`Conflict` naming the running operation) and match
        `expected_fingerprint` when given. `deployment`'s status, namespace and latest
        manifest are saved; `manifest`, when given, is added. Returns the stored deployment.
        """

    @abstractmethod
    def get_operation(self, operation_id: str) -> Operation:
        """The operation; `NotFound` when absent."""

    @abstractmethod
    def list_operations(self, deployment: str) -> list[Operation]:
        """A deployment's operations with their steps, newest first (those of a deleted
        deployment too); `NotFound` when it has none and does not exist."""

    @abstractmethod
    def save_operation(self, operation: Operation, events: list[dict[str, Any]] = ()) -> None:
        """Record the operation's status, steps and errors, and append `events` to its
        stream, in one transaction; `NotFound` when the operation is not stored."""

    @abstractmethod
    def events_since(self, operation_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        """The operation's events numbered above `after`, as (number, event), in order."""

    @abstractmethod
    def request_cancel(self, operation_id: str) -> Operation:
        """Ask a running operation to stop; `Conflict` when it has ended."""

    @abstractmethod
    def renew_leases(self) -> None:
        """Refresh the heartbeat of every unended operation this process owns."""

    @abstractmethod
    def claim_orphaned_operations(self, lease_seconds: float) -> list[str]:
        """Take over unended operations whose owner died (see lease.py); return their ids."""

    # Manifests

    @abstractmethod
    def save_manifest(self, manifest: Manifest) -> None:
        """Record a stored manifest's resources (their properties as applied and their
        states) and its settled marker; the rest of a manifest never changes once stored."""

    @abstractmethod
    def get_manifest(self, deployment: str, name: str) -> Manifest:
        """The manifest by name or revision number; `NotFound` when absent."""

    @abstractmethod
    def list_manifests(self, deployment: str) -> list[dict[str, Any]]:
        """Summaries `{name, revision, createdAt, operation, status}`, oldest first;
        `NotFound` for no such deployment."""

    @abstractmethod
    def list_manifest_names(self, deployment: str) -> list[str]:
        """Manifest names of a deployment, oldest first; `NotFound` for no such deployment."""

    # Previews

    @abstractmethod
    def save_preview(self, preview: Preview) -> None:
        """Store the deployment's preview, replacing any earlier one."""

    @abstractmethod
    def get_preview(self, deployment: str) -> Preview:
        """The deployment's preview; `NotFound` when it has none."""

    @abstractmethod
    def delete_preview(self, deployment: str) -> None:
        """Discard the deployment's preview; `NotFound` when it has none."""

    # Type instances

    @abstractmethod
    def set_type_instances(self, deployment: str, instances: list[TypeInstance]) -> None:
        """Replace the type instances recorded for a deployment; `NotFound` if absent."""

    @abstractmethod
    def list_types(self) -> list[str]:
        """Sorted types used by current deployments."""

    @abstractmethod
    def list_type_instances(self, type_name: str) -> list[TypeInstance]:
        """Instances of one type; `all` lists every instance."""

    # Service

    @abstractmethod
    def check(self) -> None:
        """Raise `ServiceUnavailable` when the database cannot be reached."""

    def close(self) -> None:
        """Release connections."""
