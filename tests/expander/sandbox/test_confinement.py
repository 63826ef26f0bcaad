"""The confined process itself, below the Python-level checks: what an escaped template could do."""

import json
import os

import pytest

from expander.models import Limits
from expander.sandbox import confinement


def _attempts() -> dict:
    import socket

    results = {"environment": dict(os.environ), "uid": os.getuid()}
    for name, attempt in {
        "fork": os.fork,
        "write a file": lambda: open("/tmp/dm-confinement-probe", "w"),
        "open a file": lambda: open("/etc/hostname"),
        "open a socket": socket.socket,
    }.items():
        try:
            attempt()
            results[name] = "allowed"
        except OSError as error:
            results[name] = error.__class__.__name__
    return results


@pytest.fixture
def confined_attempts():
    """Run `_attempts` in a child confined the way a template's process is."""
    os.environ["DM_INTERNAL_TOKEN"] = "secret"
    read_fd, write_fd = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    address_space = confinement.current_address_space()
    pid = os.fork()
    if pid == 0:
        try:
            confinement.isolate(devnull, write_fd)
            confinement.limit_resources(Limits(), address_space)
            os.write(3, json.dumps(_attempts()).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    os.close(devnull)
    del os.environ["DM_INTERNAL_TOKEN"]
    with os.fdopen(read_fd, "rb") as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_a_confined_process_has_no_environment(confined_attempts):
    assert confined_attempts["environment"] == {}


def test_a_confined_process_cannot_fork(confined_attempts):
    assert confined_attempts["fork"] == "BlockingIOError"


def test_a_confined_process_cannot_open_files_or_sockets(confined_attempts):
    assert confined_attempts["write a file"] == "OSError"
    assert confined_attempts["open a file"] == "OSError"
    assert confined_attempts["open a socket"] == "OSError"
    assert not os.path.exists("/tmp/dm-confinement-probe")


@pytest.mark.skipif(os.getuid() != 0, reason="privileges are dropped only when run as root")
def test_a_confined_process_runs_as_nobody(confined_attempts):
    assert confined_attempts["uid"] == 65534
