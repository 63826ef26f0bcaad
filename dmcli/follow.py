"""Following an operation to its end.

The operation's event stream is read first. When it breaks, it is reopened with the
last event id seen (`Last-Event-ID`), so no step is missed or repeated; after
RECONNECTS breaks in a row, or when the manager does not stream events, the operation
is polled instead. Either way each step change is reported once, in order.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from dmcli.client import ManagerClient, ManagerError

ENDED = ("Succeeded", "Failed", "Cancelled")
RECONNECTS = 3
RECONNECT_PAUSE = 0.5
POLL_INTERVAL = 0.5

StepReport = Callable[[int, dict[str, Any]], None]


class _Changes:
    """Passes each step on to `report` when its status or message is new."""

    def __init__(self, report: StepReport, steps: list[dict[str, Any]]):
        self.report = report
        self.seen = {index: _key(step) for index, step in enumerate(steps)}

    def offer(self, index: int, step: dict[str, Any]) -> None:
        if self.seen.get(index) != _key(step):
            self.seen[index] = _key(step)
            self.report(index, step)

    def offer_all(self, operation: dict[str, Any]) -> None:
        for index, step in enumerate(operation.get("steps") or []):
            self.offer(index, step)


def _key(step: dict[str, Any]) -> tuple[Any, Any]:
    return step.get("status"), step.get("message")


def follow(
    client: ManagerClient,
    operation: dict[str, Any],
    report: StepReport,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Report the steps of `operation` as they are, then each change as it happens;
    the operation once ended."""
    changes = _Changes(report, [])
    changes.offer_all(operation)
    if operation.get("status") in ENDED:
        return operation
    ended = _stream(client, operation["id"], changes, sleep)
    if ended is None:
        ended = _poll(client, operation["id"], changes, sleep)
    changes.offer_all(ended)
    return ended


def _stream(
    client: ManagerClient, operation_id: str, changes: _Changes, sleep: Callable[[float], None]
) -> dict[str, Any] | None:
    """The ended operation read from its event stream; None when the stream cannot serve."""
    last: int | None = None
    breaks = 0
    while breaks < RECONNECTS:
        try:
            for event in client.events(operation_id, last):
                if event.id is not None:
                    last = event.id
                    breaks = 0
                if event.type == "step":
                    changes.offer(event.data["index"], event.data["step"])
                elif event.type == "end":
                    return event.data["operation"]
        except ManagerError as error:
            # Connection trouble (no status) is worth a reconnect; an error answer other
            # than "no such route" is the user's to see.
            if error.status is not None and error.status not in (404, 405, 501):
                raise
            if error.status is not None:
                return None
        breaks += 1
        sleep(RECONNECT_PAUSE * breaks)
    return None


def _poll(
    client: ManagerClient, operation_id: str, changes: _Changes, sleep: Callable[[float], None]
) -> dict[str, Any]:
    while True:
        operation = client.get_operation(operation_id)
        changes.offer_all(operation)
        if operation.get("status") in ENDED:
            return operation
        sleep(POLL_INTERVAL)
