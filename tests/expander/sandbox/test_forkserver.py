"""The fork server keeps confined children forked ahead, and copes with losing them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from expander.app import create_app
from tests.expander.conftest import LIMITS, body
from tests.support import wait_until


@pytest.fixture
def own_app():
    """An app with a fork server of its own, which no other test has given templates."""
    app = create_app(LIMITS)
    yield app
    app.extensions["expander"].close()


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command; [] once the process is reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return []


def _exited(pid: int) -> bool:
    """Whether a child has exited (a zombie until it is reaped)."""
    fields = _stat(pid)
    return not fields or fields[0] == "Z"


def _waiting_children(pid: int) -> set[int]:
    """The children of a process still waiting for a request: alive, and at its priority
    (a child lowers its own to the lowest once it has answered)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    nice = _stat(pid)[16]
    return {
        child for child in map(int, text.split())
        if (fields := _stat(child)) and fields[0] != "Z" and fields[16] == nice
    }


def _two_spares(server: int) -> set[int]:
    """The fork server's two spares, once the same two are seen twice in a row."""
    seen: list[set[int]] = [set()]

    def settled():
        children = _waiting_children(server)
        stable = len(children) == 2 and children == seen[0]
        seen[0] = children
        return stable and children

    return wait_until(settled, interval=0.1)


def test_two_children_wait_for_requests_once_one_is_answered(own_app):
    client = own_app.test_client()
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    server = own_app.extensions["expander"].server_pid
    # Forked between requests, not while one is served: they appear soon after.
    before = _two_spares(server)
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    # The request went to one of them, which is gone now, and a new one took its place.
    after = wait_until(lambda: (spares := _two_spares(server)) != before and spares)
    assert len(after - before) == 1


def test_spares_killed_from_outside_are_passed_over(own_app):
    client = own_app.test_client()
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    spares = _two_spares(own_app.extensions["expander"].server_pid)
    for pid in spares:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: all(_exited(pid) for pid in spares))
    response = client.post("/expand", json=body("resources:\n- {name: a, type: Pod}\n"))
    assert response.status_code == 200
    assert response.get_json()["config"]["resources"] == [{"name": "a", "type": "Pod"}]
