"""The Repository interface: what the workflow needs from storage.

One SQL implementation (SQLAlchemy Core) serves SQLite and PostgreSQL. Every method is
atomic. The per-deployment operation lock lives here too, so that several manager
replicas sharing one PostgreSQL database still run one operation per deployment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from manager.models import Deployment, Manifest, TypeInstance


class Repository(ABC):
    @abstractmethod
    def create_deployment(self, deployment: Deployment) -> Deployment:
        """Store a new deployment (with a fresh fingerprint); `Conflict` if the name exists."""

    @abstractmethod
    def get_deployment(self, name: str) -> Deployment:
        """The deployment; `NotFound` when absent."""

    @abstractmethod
    def list_deployment_names(self) -> list[str]:
        """Names of all deployments, sorted."""

    @abstractmethod
    def list_deployments(self) -> list[Deployment]:
        """All deployments, sorted by name."""

    @abstractmethod
    def save_deployment(
        self, deployment: Deployment, expected_fingerprint: str | None = None
    ) -> Deployment:
        """Replace the stored deployment and give it a new fingerprint.

        With `expected_fingerprint`, raise `Conflict` if the stored one differs.
        """

    @abstractmethod
    def delete_deployment(self, name: str) -> None:
        """Remove the deployment, its manifests and its type instances; `NotFound` if absent."""

    @abstractmethod
    def begin_operation(
        self, name: str, status: str, expected_fingerprint: str | None = None
    ) -> Deployment:
        """Atomically move an idle deployment to in-progress `status` and return it.

        `Conflict` when another operation holds it or the fingerprint is stale;
        `NotFound` when absent.
        """

    @abstractmethod
    def add_manifest(self, manifest: Manifest) -> None:
        """Store a manifest of an existing deployment (else `NotFound`); `Conflict` if taken."""

    @abstractmethod
    def save_manifest(self, manifest: Manifest) -> None:
        """Replace a stored manifest (e.g. to record resource states)."""

    @abstractmethod
    def get_manifest(self, deployment: str, name: str) -> Manifest:
        """The manifest; `NotFound` when the deployment or manifest is absent."""

    @abstractmethod
    def list_manifest_names(self, deployment: str) -> list[str]:
        """Manifest names of a deployment, oldest first; `NotFound` for no such deployment."""

    @abstractmethod
    def set_type_instances(self, deployment: str, instances: list[TypeInstance]) -> None:
        """Replace the type instances recorded for a deployment; `NotFound` if absent."""

    @abstractmethod
    def list_types(self) -> list[str]:
        """Sorted types used by current deployments."""

    @abstractmethod
    def list_type_instances(self, type_name: str) -> list[TypeInstance]:
        """Instances of one type; `all` lists every instance."""

    @abstractmethod
    def fail_interrupted_operations(self) -> list[str]:
        """Mark deployments left in progress by a crash `Failed` ("interrupted"); return names.

        Operations of live processes (other workers or replicas) are left alone.
        """

    @abstractmethod
    def check(self) -> None:
        """Raise `ServiceUnavailable` when the database cannot be reached."""

    def close(self) -> None:
        """Release connections."""
