"""Recording an operation as it runs: its steps, its events, its end.

Every step is recorded before and after it runs (write-ahead), so the record always
says what may have been applied. Each change of a step or of the operation's status is
also an event of the operation's stream, stored in the same transaction; any replica
serves the stream from the repository.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from dmcommon.errors import DMError
from manager import metrics
from manager.models import (
    ABORTED,
    CANCELLED,
    FAILED,
    PENDING,
    RUNNING,
    Operation,
    Step,
    utc_now,
)
from manager.repository import Repository

log = logging.getLogger("manager.operations")


class Stopped(DMError):
    """The operation must stop before its next step: cancelled or past its deadline."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.outcome = status


class Recorder:
    """The operation being run, and the one way its progress reaches the repository."""

    def __init__(self, repository: Repository, operation: Operation):
        self.repository = repository
        self.operation = operation
        self._events: list[dict] = []
        self._index = {
            (step.phase, step.resource, step.action): i for i, step in enumerate(operation.steps)
        }
        self.phase = ""
        """Steps added from now on belong to this phase (`rollback` for an atomic undo)."""

    # Steps

    def step(self, resource: str, action: str) -> int:
        """The index of the step `action` on `resource`, added (Pending) if new.

        Adding is idempotent, so an operation resumed after a crash finds its steps.
        """
        key = (self.phase, resource, action)
        if key not in self._index:
            self._index[key] = len(self.operation.steps)
            self.operation.steps.append(Step(resource, action, phase=self.phase))
            self._event(self._index[key])
        return self._index[key]

    def status_of(self, resource: str, action: str) -> str | None:
        index = self._index.get((self.phase, resource, action))
        return None if index is None else self.operation.steps[index].status

    def start(self, index: int, message: str = "") -> None:
        step = self.operation.steps[index]
        self._change(
            index,
            status=RUNNING,
            message=message,
            started_at=step.started_at or utc_now(),
            ended_at=None,
        )

    def progress(self, index: int, message: str) -> None:
        """Say how a running step is doing (e.g. `2/3 ready`) without ending it."""
        if self.operation.steps[index].message != message:
            self._change(index, message=message)

    def end(self, index: int, status: str, message: str = "") -> None:
        now = utc_now()
        started = self.operation.steps[index].started_at or now
        step = self._change(index, status=status, message=message, started_at=started, ended_at=now)
        metrics.step_ended(step)
        log.info(
            "%s %s: %s %s",
            self.operation.deployment,
            step.action,
            step.resource,
            f"{status}: {message}" if message else status,
            extra=self._context(resource=step.resource),
        )

    # The operation

    def begin(self) -> None:
        """Mark the operation Running (again, when resumed) and record it."""
        operation = self.operation
        resumed = operation.status == RUNNING
        operation.status = RUNNING
        operation.started_at = operation.started_at or utc_now()
        self._events.append({"type": "status", "status": RUNNING, "resumed": resumed})
        self.flush()
        log.info(
            "%s %s operation %s %s",
            operation.deployment,
            operation.type,
            operation.id,
            "resumed" if resumed else "started",
            extra=self._context(),
        )

    def finish(self, status: str, errors: list[str]) -> None:
        """End the operation with `status`; steps still open end the same way."""
        operation = self.operation
        operation.status = status
        operation.errors = list(errors)
        operation.ended_at = utc_now()
        for index, step in enumerate(operation.steps):
            if step.status in (PENDING, RUNNING):
                ended = CANCELLED if status == CANCELLED else ABORTED
                self._change(index, status=ended, ended_at=operation.ended_at)
        self._events.append({"type": "end", "operation": operation.to_dict()})
        self.flush()
        metrics.operation_ended(operation)
        log.info(
            "%s %s operation %s %s%s",
            operation.deployment,
            operation.type,
            operation.id,
            status,
            f": {'; '.join(errors)}" if errors else "",
            extra=self._context(),
        )

    def flush(self) -> None:
        """Store the operation and the events since the last flush."""
        events, self._events = self._events, []
        self.repository.save_operation(self.operation, events)

    def check(self, deadline: bool = True) -> None:
        """Raise Stopped when the operation was cancelled or (unless `deadline` is False)
        its deadline passed."""
        if self.repository.get_operation(self.operation.id).cancel_requested:
            raise Stopped(CANCELLED, "cancelled: the operation was cancelled on request")
        if deadline and time.time() > self.operation.deadline:
            raise Stopped(
                FAILED, f"the operation's deadline of {self.operation.options.timeout:g} s passed"
            )

    def seconds_left(self) -> float:
        return self.operation.deadline - time.time()

    def _change(self, index: int, **changes) -> Step:
        """Replace step `index` by its next state (a step never changes) and say so."""
        step = replace(self.operation.steps[index], **changes)
        self.operation.steps[index] = step
        self._event(index)
        return step

    def _event(self, index: int) -> None:
        self._events.append(
            {"type": "step", "index": index, "step": self.operation.steps[index].to_dict()}
        )

    def _context(self, **extra) -> dict:
        return {
            "deployment": self.operation.deployment,
            "operation": self.operation.id,
            **extra,
        }
