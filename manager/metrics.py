"""The manager's metrics: operations, the resources they touched, health waits, and the
repository's latency. The workflow reports to them with one call where each thing ends.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Callable

from prometheus_client import Counter, Histogram

from manager.models import (
    ABORTED,
    CREATED,
    DELETED,
    FAILED,
    SUCCEEDED,
    UNCHANGED,
    Operation,
    Step,
)

# Operations wait on the cluster: their buckets reach well past a request's.
_LONG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

OPERATIONS = Counter(
    "dm_operations_total",
    "Operations ended, by type (create, update, ...) and outcome (succeeded, failed, cancelled).",
    ["type", "outcome"],
)
OPERATION_SECONDS = Histogram(
    "dm_operation_duration_seconds",
    "Time from an operation's start to its end, by type.",
    ["type"],
    buckets=_LONG_BUCKETS,
)
RESOURCES = Counter(
    "dm_resources_total",
    "Resources an operation finished with, by kind and outcome "
    "(applied, unchanged, failed, aborted, deleted).",
    ["kind", "outcome"],
)
HEALTH_WAITS = Counter(
    "dm_health_waits_total",
    "Waits for one applied resource to become healthy, by outcome (succeeded, failed).",
    ["outcome"],
)
HEALTH_WAIT_SECONDS = Histogram(
    "dm_health_wait_duration_seconds",
    "Time one applied resource took to become healthy, or to run out of time.",
    buckets=_LONG_BUCKETS,
)
REPOSITORY_SECONDS = Histogram(
    "dm_repository_duration_seconds",
    "Time of one repository call, by operation (the Repository method).",
    ["operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

# The action of a health wait's step (manager.workflow.rollout.WAIT, which imports this).
_WAIT = "wait"

# A resource's state as the outcome it is counted under; other states are not an end.
_RESOURCE_OUTCOMES = {
    CREATED: "applied",
    UNCHANGED: "unchanged",
    FAILED: "failed",
    ABORTED: "aborted",
    DELETED: "deleted",
}


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def operation_ended(operation: Operation) -> None:
    """Count an operation that ended, and how long it ran."""
    OPERATIONS.labels(operation.type, operation.status.lower()).inc()
    seconds = _seconds_between(operation.started_at or operation.created_at, operation.ended_at)
    if seconds is not None:
        OPERATION_SECONDS.labels(operation.type).observe(seconds)


def step_ended(step: Step) -> None:
    """Count a health wait when `step` is one that ended (other steps count elsewhere)."""
    if step.action != _WAIT or step.status not in (SUCCEEDED, FAILED):
        return
    HEALTH_WAITS.labels(step.status.lower()).inc()
    seconds = _seconds_between(step.started_at, step.ended_at)
    if seconds is not None:
        HEALTH_WAIT_SECONDS.observe(seconds)


def resource_ended(obj: dict[str, Any], status: str) -> None:
    """Count a resource (its object `obj`) that ended in `status` (Created, Deleted, ...)."""
    outcome = _RESOURCE_OUTCOMES.get(status)
    if outcome is not None:
        RESOURCES.labels(str(obj.get("kind") or "unknown"), outcome).inc()


class TimedRepository:
    """A repository whose every public call is timed into dm_repository_duration_seconds."""

    def __init__(self, repository):
        self._repository = repository

    def __getattr__(self, name: str):
        found = getattr(self._repository, name)
        if name.startswith("_") or not callable(found):
            return found
        timed = _timed(found, REPOSITORY_SECONDS.labels(name))
        # Kept, so later look-ups of the same method skip this one.
        setattr(self, name, timed)
        return timed


def _timed(call: Callable, histogram) -> Callable:
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            histogram.observe(time.perf_counter() - started)

    return timed
