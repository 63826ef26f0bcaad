"""The fork server: a clean process that keeps one confined child ready per expansion.

`expander.sandbox.client` starts it with an empty environment, so neither it nor its children
ever hold the service's settings or secrets. It loads the engine once and exercises it
(a confined child cannot open files, so it cannot load modules later), then keeps one
*spare* child forked ahead of time, so forking is not on a request's path. A child is
confined (`expander.sandbox.confinement`: no environment, no privileges, no files, no
forking), then gets the request, takes on the request's CPU-time and address-space
limits, expands, writes its answer and exits.

The server enforces the wall-clock limit and the answer's size, kills the child's
process group when done, and forks the next spare. A child serves exactly one request,
so nothing carries over from one request to the next.

Frames on all pipes are an 8-byte big-endian length followed by that many bytes. The
service sends two frames (the limits as JSON, then the request body) and gets one: an
answer, which is a 3-digit HTTP status followed by the JSON body.
"""

from __future__ import annotations

import codecs
import datetime
import gc
import json
import marshal
import os
import random
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO

from dmcommon.errors import DMError
from expander.engine import Expander, to_json
from expander.models import ExpansionRequest, Limits
from expander.sandbox.confinement import (
    FIRST_FD,
    current_address_space,
    isolate,
    limit_resources,
)
from expander.templates.jinja import SHARED_BYTECODE

_HEADER = struct.Struct(">Q")
_ANSWER_FD = FIRST_FD
_REQUEST_FD = FIRST_FD + 1
_FAILED = 70


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame from `stream`, or None at end of file."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def write_frame(stream: BinaryIO, data: bytes) -> None:
    """Write one frame and flush it."""
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def failure(status: int, message: str) -> bytes:
    """An error answer."""
    return b"%03d" % status + json.dumps({"status": status, "message": message}).encode()


def expand_to_answer(body: bytes, limits: Limits) -> bytes:
    """Expand a request body and return the answer, success or error."""
    try:
        request = ExpansionRequest.from_dict(json.loads(body))
        result = Expander(request, limits).expand().to_dict()
        answer = b"200" + to_json(result).encode()
    except DMError as error:
        return failure(error.status, error.message)
    except MemoryError:
        return failure(
            400, f"template expansion exceeded the memory limit of {limits.memory_mb} MiB"
        )
    except RecursionError:
        return failure(400, "template expansion recursed too deeply")
    except (TypeError, ValueError) as error:
        return failure(400, f"the expansion cannot be written as JSON: {error}")
    if len(answer) > limits.max_output_bytes:
        return failure(
            400,
            f"the expanded configuration is {len(answer) - 3} bytes, larger than the limit of"
            f" {limits.max_output_bytes} bytes",
        )
    return answer


@dataclass
class _Child:
    """A forked child waiting for its request."""

    pid: int
    request_fd: int
    answer_fd: int

    def close(self) -> None:
        """Kill the child's process group, reap it and close the pipes."""
        _reap(self.pid)
        for fd in (self.request_fd, self.answer_fd):
            if fd >= 0:
                os.close(fd)


def _reap(pid: int) -> int:
    """Kill a child and its process group; return its wait status."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def _spawn(devnull: int) -> _Child:
    address_space = current_address_space()
    request_read, request_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(request_write)
            os.close(answer_read)
            isolate(devnull, answer_write, request_read)
            _child(address_space)
            os._exit(0)
        finally:
            os._exit(_FAILED)
    os.close(request_read)
    os.close(answer_write)
    return _Child(pid, request_write, answer_read)


def _child(address_space: int) -> None:
    # Expanding a sample while waiting copies most of the pages an expansion writes to
    # (reference counts), so the request itself meets far fewer copy-on-write faults.
    expand_to_answer(_PRIMING, Limits())
    request = _read_all(_REQUEST_FD)
    os.close(_REQUEST_FD)
    (size,) = _HEADER.unpack_from(request)
    limits = Limits.from_dict(json.loads(request[_HEADER.size:_HEADER.size + size]))
    body = request[_HEADER.size + size:]
    # The request itself is already in memory; the limit is on what expansion adds.
    limit_resources(limits, address_space + 4 * len(request))
    random.seed()
    answer = expand_to_answer(body, limits)
    _write_all(_ANSWER_FD, _HEADER.pack(len(answer)) + answer)
    os.close(_ANSWER_FD)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def hand_over(child: _Child, limits_frame: bytes, body: bytes) -> bytes | None:
    """Send `child` its request; None, or the failure answer when the child is gone."""
    try:
        _write_all(child.request_fd, _HEADER.pack(len(limits_frame)) + limits_frame + body)
    except OSError:
        return failure(503, "the template sandbox lost a worker process; try again")
    finally:
        os.close(child.request_fd)
        child.request_fd = -1
    return None


def collect(child: _Child, limits: Limits) -> bytes:
    """The child's answer, or the reason it gave none."""
    data, problem = _read_until_closed(
        child.answer_fd, limits.timeout, limits.max_output_bytes + 1024 * 1024
    )
    if problem == "timeout":
        return failure(400, f"template expansion took longer than {limits.timeout:g} seconds")
    if problem == "size":
        limit = limits.max_output_bytes
        return failure(400, f"the expansion's output is larger than the limit of {limit} bytes")
    if len(data) >= _HEADER.size and _HEADER.unpack_from(data)[0] == len(data) - _HEADER.size:
        return data[_HEADER.size:]
    _, status = os.waitpid(child.pid, 0)
    return failure(400, _describe_death(status, limits))


def _read_until_closed(fd: int, timeout: float, cap: int) -> tuple[bytes, str | None]:
    """Everything written to `fd` until it closes; or the problem: "timeout" or "size"."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
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


def _describe_death(status: int, limits: Limits) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return f"template expansion used more than {limits.cpu_seconds} seconds of CPU time"
        return f"template expansion crashed (signal {signal.Signals(sig).name})"
    return (
        "template expansion stopped without an answer; it most likely exceeded the memory"
        f" limit of {limits.memory_mb} MiB"
    )


_WARM_UP = {
    "template": {
        "name": "warm-up",
        "content": "resources:\n- {name: a, type: t.jinja}\n- {name: b, type: t.py}\n"
        "- {name: c, type: bad.jinja}\n",
        "imports": [
            {"name": "t.jinja", "content": (
                "{% import 'm.jinja' as m %}resources:\n"
                "{% for i in range(2) %}- {name: {{ m.n(i) }}, type: '{{ env|tojson }}'}\n"
                "{% endfor %}"
            )},
            {"name": "m.jinja", "content": "{% macro n(i) %}x{{ i }}{% endmacro %}"},
            {"name": "t.py", "content": (
                "import json, yaml, string, collections.abc, helpers.h\n"
                "def GenerateConfig(context):\n"
                "    return {'resources': [{'name': '{}'.format(1), 'type': 'y'}]}\n"
            )},
            {"name": "helpers/h.py", "content": "X = 1\n"},
            {"name": "t.py.schema", "content": (
                "properties:\n  p: {$ref: '#/definitions/d'}\n"
                "definitions:\n  d: {type: integer, default: 1}\n"
            )},
            {"name": "bad.jinja", "content": "{{ nothing.here }}\n"},
        ],
    },
    "env": {"deployment": "warm-up"},
}

_PRIMING = json.dumps({
    **_WARM_UP,
    "template": {**_WARM_UP["template"], "content": "resources:\n- {name: a, type: t.jinja}\n"
                 "- {name: b, type: t.py}\n"},
}).encode()

# Codecs are modules loaded on first use; these are the ones templates and Jinja meet.
_ENCODINGS = (
    "ascii", "latin-1", "utf-16", "utf-32", "utf-8-sig", "idna", "unicode_escape",
    "raw_unicode_escape", "cp1252", "base64_codec", "hex_codec",
)


def warm_up() -> None:
    """Load everything a child could need, since a confined child cannot open files."""
    expand_to_answer(json.dumps(_WARM_UP).encode(), Limits())
    failing = json.loads(json.dumps(_WARM_UP))
    failing["template"]["imports"][2]["content"] = "def GenerateConfig(c):\n  1/0\n"
    expand_to_answer(json.dumps(failing).encode(), Limits())
    for encoding in _ENCODINGS:
        codecs.lookup(encoding)
    # `strptime` loads its module on first use.
    datetime.datetime.strptime("2000-01-01", "%Y-%m-%d")


# What compiling one request's Jinja templates may take.
_COMPILE_LIMITS = Limits(timeout=5, cpu_seconds=3, memory_mb=256, max_output_bytes=64 << 20)


def _remember(body: bytes, devnull: int) -> None:
    """Compile the request's templates and check its schemas, so the next children start
    with them ready.

    Python is compiled here. Jinja evaluates constant expressions and filters while
    compiling (`{{ "a" | center(10**9) }}`), so Jinja templates are compiled in a confined
    child that sends back the code.
    """
    try:
        expander = Expander(ExpansionRequest.from_dict(json.loads(body)), Limits())
    except (DMError, ValueError):
        return
    expander.compile_python()
    expander.remember_schemas()
    templates = expander.uncompiled_jinja()
    if templates:
        data = _compile_confined(expander, templates, devnull)
        try:
            SHARED_BYTECODE.adopt(marshal.loads(data), len(data))
        except (EOFError, ValueError, TypeError):
            pass
    gc.freeze()


def _compile_confined(expander: Expander, templates: list, devnull: int) -> bytes:
    """The new cache entries from compiling `templates` in a confined child, marshalled."""
    address_space = current_address_space()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            isolate(devnull, write_fd)
            limit_resources(_COMPILE_LIMITS, address_space)
            known = set(SHARED_BYTECODE.codes)
            expander.compile_jinja(templates)
            fresh = {k: v for k, v in SHARED_BYTECODE.codes.items() if k not in known}
            _write_all(_ANSWER_FD, marshal.dumps(fresh))
            os._exit(0)
        finally:
            os._exit(_FAILED)
    os.close(write_fd)
    try:
        data, problem = _read_until_closed(
            read_fd, _COMPILE_LIMITS.timeout, _COMPILE_LIMITS.max_output_bytes
        )
    finally:
        os.close(read_fd)
    status = _reap(pid)
    if problem or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return b""
    return data


def main() -> None:
    """Serve requests from stdin until it closes."""
    warm_up()
    gc.collect()
    # Children only read the server's objects; keep their pages shared.
    gc.freeze()
    devnull = os.open(os.devnull, os.O_RDWR)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    spare = _spawn(devnull)
    try:
        while (limits := read_frame(stdin)) is not None and (body := read_frame(stdin)) is not None:
            child = spare
            failed = hand_over(child, limits, body)
            # The next child forks and primes itself while this one expands.
            spare = _spawn(devnull)
            answer = failed or collect(child, Limits.from_dict(json.loads(limits)))
            write_frame(stdout, answer)
            child.close()
            _remember(body, devnull)
    finally:
        spare.close()


if __name__ == "__main__":
    main()
