"""The fork server's confined children: each forked, given one request, killed and reaped.

A child is confined at once (`expander.sandbox.confinement`: no environment, no
privileges, no files, no forking). A spare, forked before its request arrives, then
primes itself (`answers.prime`) while it waits. Given its request, a child takes on the
request's CPU-time and address-space limits, expands, writes its answer and exits. The
fork server enforces the wall-clock limit and the answer's size.

Frames on the pipes are an 8-byte big-endian length followed by that many bytes: a child
gets the limits (JSON) followed by the request body, and sends one answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import struct
import time
from dataclasses import dataclass

from expander.models import Limits
from expander.sandbox.answers import expand_to_answer, failure, prime
from expander.sandbox.confinement import (
    FIRST_FD,
    current_address_space,
    isolate,
    limit_resources,
)

HEADER = struct.Struct(">Q")
ANSWER_FD = FIRST_FD
"""Where a confined child writes what it sends back."""
_REQUEST_FD = FIRST_FD + 1
FAILED = 70
"""The exit status of a child whose own code failed."""
_LOWEST_PRIORITY = 19


@dataclass
class Child:
    """A forked child: its pipes (-1 once closed) and, once reaped, its wait status.

    `generation` tells what the fork server had kept when it forked the child.
    """

    pid: int
    request_fd: int
    answer_fd: int
    generation: int = 0
    status: int | None = None

    def kill(self) -> None:
        """Kill the child's process group, unless it was reaped already, and close its pipes."""
        if self.status is None:
            # A child stopped early (a timeout) frees its memory after others are served.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, self.pid, _LOWEST_PRIORITY)
            for kill in (os.killpg, os.kill):
                try:
                    kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for fd in (self.request_fd, self.answer_fd):
            if fd >= 0:
                os.close(fd)
        self.request_fd = self.answer_fd = -1

    def reaped(self, block: bool = False) -> bool:
        """Whether the child has been waited for; with `block`, wait until it has exited."""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid == 0:
                return False
            self.status = status
        return True


def spawn(devnull: int, generation: int, primed: bool) -> Child:
    """Fork a confined child waiting for its request; `primed` makes it prime itself first."""
    address_space = current_address_space()
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(request_write)
            os.close(answer_read)
            isolate(devnull, answer_write, request_read)
            if primed:
                prime()
            _serve_one(address_space)
            os._exit(0)
        finally:
            os._exit(FAILED)
    os.close(request_read)
    os.close(answer_write)
    return Child(pid, request_write, answer_read, generation)


def _serve_one(address_space: int) -> None:
    request = _read_all(_REQUEST_FD)
    os.close(_REQUEST_FD)
    (size,) = HEADER.unpack_from(request)
    limits = Limits.from_dict(json.loads(request[HEADER.size:HEADER.size + size]))
    body = request[HEADER.size + size:]
    # The request itself is already in memory; the limit is on what expansion adds.
    limit_resources(limits, address_space + 4 * len(request))
    random.seed()
    answer = expand_to_answer(body, limits)
    write_all(ANSWER_FD, HEADER.pack(len(answer)) + answer)
    os.close(ANSWER_FD)
    # What is left is freeing this process's memory as it exits: let the requests being
    # served go first.
    os.setpriority(os.PRIO_PROCESS, 0, _LOWEST_PRIORITY)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to the descriptor `fd`."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def hand_over(child: Child, limits_frame: bytes, body: bytes) -> bytes | None:
    """Send `child` its request; None, or the failure answer when the child is gone."""
    try:
        write_all(child.request_fd, HEADER.pack(len(limits_frame)) + limits_frame + body)
    except OSError:
        return failure(503, "the template sandbox lost a worker process; try again")
    finally:
        os.close(child.request_fd)
        child.request_fd = -1
    return None


def collect(child: Child, limits: Limits) -> bytes:
    """The child's answer, or the reason it gave none."""
    data, problem = _read_answer(
        child.answer_fd, limits.timeout, limits.max_output_bytes + 1024 * 1024
    )
    if problem == "timeout":
        return failure(
            400, f"template expansion took longer than {limits.timeout:g} seconds", "timeout"
        )
    if problem == "size":
        limit = limits.max_output_bytes
        return failure(
            400, f"the expansion's output is larger than the limit of {limit} bytes", "output"
        )
    if len(data) >= HEADER.size and HEADER.unpack_from(data)[0] == len(data) - HEADER.size:
        return data[HEADER.size:]
    child.reaped(block=True)
    return failure(400, *_describe_death(child.status or 0, limits))


def _read_answer(fd: int, timeout: float, cap: int) -> tuple[bytes, str | None]:
    """What the child writes to `fd`, up to the end of its frame or until it closes it;
    or the problem: "timeout" or "size"."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    expected = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", "timeout"
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), None
        size += len(chunk)
        if size > cap:
            return b"", "size"
        chunks.append(chunk)
        if expected is None and size >= HEADER.size:
            expected = HEADER.size + HEADER.unpack_from(b"".join(chunks))[0]
        if size == expected:
            # Complete: what is left of the child (closing, exiting) is not waited for.
            return b"".join(chunks), None


def _describe_death(status: int, limits: Limits) -> tuple[str, str]:
    """Why a child died without an answer: the message, and the reason in a word."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return (
                f"template expansion used more than {limits.cpu_seconds} seconds of CPU time",
                "cpu",
            )
        return f"template expansion crashed (signal {signal.Signals(sig).name})", "crash"
    return (
        "template expansion stopped without an answer; it most likely exceeded the memory"
        f" limit of {limits.memory_mb} MiB",
        "memory",
    )
