"""Following an operation: its event stream, reopened after a break, else polling."""

from __future__ import annotations

import pytest

from dmcli.client import Event, ManagerError, StreamBroken
from dmcli.follow import RECONNECTS, follow


def step(resource: str, status: str, message: str = "") -> dict:
    return {"resource": resource, "action": "apply", "status": status, "message": message}


def operation(status: str, *steps: dict) -> dict:
    return {"id": "op1", "status": status, "steps": list(steps), "errors": []}


STARTED = operation("Pending", step("a", "Pending"), step("b", "Pending"))
ENDED = operation("Succeeded", step("a", "Succeeded"), step("b", "Succeeded"))
EVENTS = [
    Event(1, "step", {"type": "step", "index": 0, "step": step("a", "Running")}),
    Event(2, "step", {"type": "step", "index": 0, "step": step("a", "Succeeded")}),
    Event(3, "step", {"type": "step", "index": 1, "step": step("b", "Running")}),
    Event(4, "step", {"type": "step", "index": 1, "step": step("b", "Succeeded")}),
    Event(5, "end", {"type": "end", "operation": ENDED}),
]


class FakeManager:
    """Serves EVENTS, breaking the stream after the event numbers in `breaks_after`
    (each once), and answers GET /operations/{id} from `polled`."""

    def __init__(self, breaks_after=(), stream_error=None, polled=()):
        self.breaks_after = set(breaks_after)
        self.stream_error = stream_error
        self.polled = list(polled)
        self.asked_after: list[int | None] = []

    def events(self, operation_id, last_event_id=None):
        self.asked_after.append(last_event_id)
        if self.stream_error is not None:
            raise self.stream_error
        for event in EVENTS:
            if last_event_id is not None and event.id <= last_event_id:
                continue
            yield event
            if event.id in self.breaks_after:
                self.breaks_after.discard(event.id)
                raise StreamBroken("the event stream of op1 broke: reset")

    def get_operation(self, operation_id):
        return self.polled.pop(0)


def follow_all(manager: FakeManager) -> tuple[dict, list[tuple[int, str, str]]]:
    seen = []
    ended = follow(
        manager,
        STARTED,
        lambda index, item: seen.append((index, item["resource"], item["status"])),
        sleep=lambda seconds: None,
    )
    return ended, seen


AT_START = [(0, "a", "Pending"), (1, "b", "Pending")]
EVERY_CHANGE = AT_START + [
    (0, "a", "Running"),
    (0, "a", "Succeeded"),
    (1, "b", "Running"),
    (1, "b", "Succeeded"),
]


def test_every_step_change_is_reported_once_in_order():
    manager = FakeManager()
    ended, seen = follow_all(manager)
    assert ended == ENDED
    assert seen == EVERY_CHANGE
    assert manager.asked_after == [None]


def test_a_broken_stream_is_reopened_after_the_last_event_seen():
    manager = FakeManager(breaks_after=(2, 3))
    ended, seen = follow_all(manager)
    assert ended == ENDED
    assert seen == EVERY_CHANGE
    assert manager.asked_after == [None, 2, 3]


def test_a_stream_that_keeps_breaking_gives_way_to_polling():
    manager = FakeManager(
        stream_error=ManagerError("cannot reach the manager"),
        polled=[
            operation("Running", step("a", "Succeeded"), step("b", "Running")),
            ENDED,
        ],
    )
    ended, seen = follow_all(manager)
    assert ended == ENDED
    assert seen == AT_START + [(0, "a", "Succeeded"), (1, "b", "Running"), (1, "b", "Succeeded")]
    assert manager.asked_after == [None] * RECONNECTS


def test_a_manager_without_event_streams_is_polled_at_once():
    manager = FakeManager(stream_error=ManagerError("not found", 404), polled=[ENDED])
    ended, seen = follow_all(manager)
    assert ended == ENDED
    assert seen == AT_START + [(0, "a", "Succeeded"), (1, "b", "Succeeded")]
    assert manager.asked_after == [None]


def test_an_error_answer_of_the_stream_is_the_users_to_see():
    manager = FakeManager(stream_error=ManagerError("invalid bearer token", 403))
    with pytest.raises(ManagerError, match="invalid bearer token"):
        follow_all(manager)


def test_an_operation_that_already_ended_is_not_followed():
    manager = FakeManager()
    assert follow(manager, ENDED, lambda index, item: None) == ENDED
    assert manager.asked_after == []
