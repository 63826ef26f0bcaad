"""The fork server keeps confined children forked ahead, and copes with losing them."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.expander.conftest import body
from tests.support import wait_until


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _state(pid: int) -> str:
    """A process's state letter: Z once it has exited and waits to be reaped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_two_children_wait_for_requests_once_one_is_answered(app, client):
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    server = app.extensions["expander"].server_pid
    # Forked between requests, not while one is served: they appear soon after.
    spares = wait_until(lambda: len(_children(server)) == 2 and _children(server))
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    # The request went to one of them, which is gone now, and a new one took its place.
    wait_until(lambda: len(_children(server)) == 2 and set(_children(server)) != set(spares))


def test_spares_killed_from_outside_are_passed_over(app, client):
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    server = app.extensions["expander"].server_pid
    spares = wait_until(lambda: len(_children(server)) == 2 and _children(server))
    for pid in spares:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: all(_state(pid) == "Z" for pid in spares))
    response = client.post("/expand", json=body("resources:\n- {name: a, type: Pod}\n"))
    assert response.status_code == 200
    assert response.get_json()["config"]["resources"] == [{"name": "a", "type": "Pod"}]
