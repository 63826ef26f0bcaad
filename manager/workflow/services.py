"""The collaborators of the workflow, wired once at start-up (tests pass their own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from manager.models import Template
from manager.repository import Repository


class Expander(Protocol):
    def expand(self, template: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]: ...


class Resourcifier(Protocol):
    def apply(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]: ...

    def delete(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]: ...

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None: ...

    def status(
        self, resources: list[dict[str, Any]], namespace: str
    ) -> list[dict[str, Any]] | None: ...

    def dry_run(
        self, resources: list[dict[str, Any]], namespace: str
    ) -> list[dict[str, Any]] | None: ...


class Runner(Protocol):
    """Runs operations in the background (see workflow/runner.py)."""

    def submit(self, operation_id: str) -> None: ...


@dataclass
class Services:
    repository: Repository
    expander: Expander
    resourcifier: Resourcifier
    resolve_types: Callable[[Template], Template]
    runner: Runner | None = None
    default_namespace: str = "default"
    poll_interval: float = 0.25
    """First pause between health checks of a level; it grows to 4× that."""
