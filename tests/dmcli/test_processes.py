"""The child processes `dm up` and the end-to-end tests run: started, watched, stopped."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from dmcli.processes import Child, ChildError, free_port, port_is_free
from tests.support import wait_until

# A parent that starts a long-lived child of its own, as gunicorn starts workers.
PARENT_WITH_WORKER = (
    "import subprocess, sys\n"
    "worker = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "print(worker.pid, flush=True)\n"
    "worker.wait()\n"
)


def python(tmp_path: Path, name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], tmp_path / f"{name}.log")


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_stop_ends_the_child_and_what_it_started(tmp_path):
    child = python(tmp_path, "parent", PARENT_WITH_WORKER)
    worker = int(wait_until(lambda: child.log().strip()))
    assert running(worker)
    child.stop()
    assert child.process.returncode is not None
    wait_until(lambda: not running(worker), timeout=10)


def test_an_exited_child_is_reported_with_the_end_of_its_log(tmp_path):
    code = "for n in range(30): print('line', n)\nraise SystemExit(3)"
    child = python(tmp_path, "quick", code)
    child.process.wait()
    with pytest.raises(ChildError) as raised:
        child.check_running()
    lines = "\n".join(f"line {n}" for n in range(10, 30))
    assert str(raised.value) == (
        f"quick exited with code 3; last lines of {tmp_path / 'quick.log'}:\n{lines}"
    )


def test_waiting_for_a_url_stops_as_soon_as_the_child_exits(tmp_path):
    child = python(tmp_path, "broken", "print('no config')\nraise SystemExit(2)")
    url = f"http://127.0.0.1:{free_port()}/healthz"
    with pytest.raises(ChildError, match=r"^broken exited with code 2; .*\nno config$"):
        child.wait_until_answering(url, timeout=600)


def test_waiting_for_a_url_returns_once_it_answers(tmp_path):
    port = free_port()
    child = Child(
        "web",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        tmp_path / "web.log",
    )
    try:
        child.wait_until_answering(f"http://127.0.0.1:{port}/")
        assert child.process.poll() is None
    finally:
        child.stop()


def test_a_port_someone_listens_on_is_not_free():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert not port_is_free("127.0.0.1", busy.getsockname()[1])
    assert port_is_free("127.0.0.1", free_port())
