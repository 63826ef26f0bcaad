"""The service side of the sandbox: wired through the app, started late, one per process."""

import json
import os

import requests

from expander.app import create_app
from expander.models import Limits
from expander.sandbox.client import Sandbox
from tests.expander.conftest import LIMITS, body


class RecordingSandbox:
    """Answers every expansion with a fixed configuration and keeps what it was given."""

    def __init__(self):
        self.calls = []

    def expand(self, request: bytes, limits: Limits) -> bytes:
        self.calls.append((json.loads(request), limits))
        return b'{"config": {"resources": []}, "layout": {"resources": []}}'


def test_the_route_expands_through_the_sandbox_the_app_was_given():
    sandbox = RecordingSandbox()
    client = create_app(LIMITS, sandbox=sandbox).test_client()
    request = body("resources: []\n")
    response = client.post("/expand", json=request)
    assert response.status_code == 200
    assert response.get_json() == {"config": {"resources": []}, "layout": {"resources": []}}
    assert sandbox.calls == [(request, Limits(
        timeout=3, cpu_seconds=2, memory_mb=256, max_output_bytes=1024 * 1024, max_depth=8
    ))]


def test_the_fork_server_starts_with_the_first_expansion_not_with_the_app():
    app = create_app(LIMITS)
    sandbox = app.extensions["expander"]
    try:
        assert sandbox.server_pid is None
        assert app.test_client().post("/expand", json=body("resources: []\n")).status_code == 200
        assert sandbox.server_pid is not None
    finally:
        sandbox.close()
    assert sandbox.server_pid is None


def test_a_forked_process_starts_its_own_fork_server(app, client):
    # What a gunicorn worker meets when the app was built before the fork.
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200
    sandbox = app.extensions["expander"]
    parent_server = sandbox.server_pid
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            seen = [sandbox.server_pid]
            response = client.post("/expand", json=body("resources:\n- {name: a, type: P}\n"))
            seen += [response.status_code, sandbox.server_pid]
            sandbox.close()
            os.write(write_fd, json.dumps(seen).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as answer:
        before, status, child_server = json.loads(answer.read())
    os.waitpid(pid, 0)
    assert before is None
    assert status == 200
    assert child_server not in (None, parent_server)
    assert sandbox.server_pid == parent_server
    assert client.post("/expand", json=body("resources: []\n")).status_code == 200


def test_readyz_answers_ok_when_the_sandbox_starts_a_child(client):
    response = client.get("/readyz")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "ok")


def test_readyz_is_503_when_the_sandbox_cannot_start_a_child():
    app = create_app(LIMITS, sandbox=Sandbox(interpreter="/bin/false"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": 503, "message": "the template sandbox cannot start a process for expansions"
    }


def test_readyz_needs_no_token_where_expanding_does(confined):
    assert requests.get(f"{confined.url}/readyz", timeout=30).status_code == 200
    assert requests.post(f"{confined.url}/expand", json={}, timeout=30).status_code == 401
