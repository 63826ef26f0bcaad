"""The fork server: a clean process that forks one confined child per expansion.

It is started by `expander.sandbox` with an empty environment, so neither it nor its
children ever hold the service's settings or secrets. It loads the engine once and
exercises it, then for every request read from stdin it forks a child that

- runs as `nobody` when started as root, in its own process group;
- has limits on CPU time, address space, file size (0: nothing can be written),
  processes (0: no forks) and open files (no new file or socket can be opened);
- has only stdin/stdout/stderr on /dev/null and the pipe for its answer;

expands the request and writes the answer. The server enforces the wall-clock limit and
the answer's size, kills the child's process group, and answers on stdout. A child is
used for exactly one request, so nothing carries over from one request to the next.

Frames on both pipes are an 8-byte big-endian length followed by that many bytes of JSON.
"""

from __future__ import annotations

import codecs
import gc
import json
import os
import random
import resource
import select
import signal
import struct
import sys
import time
from typing import Any, BinaryIO

from dmcommon.errors import DMError
from expander.engine import Expander
from expander.models import ExpansionRequest, Limits

_HEADER = struct.Struct(">Q")
_ANSWER_FD = 3
_NOBODY = 65534
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
    return json.dumps({"ok": False, "status": status, "message": message}).encode()


def expand_to_answer(payload: dict[str, Any]) -> bytes:
    """Expand a request and return the JSON answer, success or error."""
    limits = Limits.from_dict(payload["limits"])
    try:
        request = ExpansionRequest.from_dict(payload["request"])
        result = Expander(request, limits).expand().to_dict()
        answer = json.dumps({"ok": True, "result": result}).encode()
    except DMError as error:
        return failure(error.status, error.message)
    except MemoryError:
        return failure(
            400, f"template expansion exceeded the memory limit of {limits.memory_mb} MiB"
        )
    except RecursionError:
        return failure(400, "template expansion recursed too deeply")
    except ValueError as error:
        return failure(400, f"the expansion cannot be written as JSON: {error}")
    if len(answer) > limits.max_output_bytes:
        return failure(
            400,
            f"the expanded configuration is {len(answer)} bytes, larger than the limit of"
            f" {limits.max_output_bytes} bytes",
        )
    return answer


def _confine(limits: Limits, address_space: int) -> None:
    os.environ.clear()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    memory = address_space + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    # Writing to a file fails with EFBIG instead of killing the child.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(_NOBODY)
        os.setuid(_NOBODY)
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (_ANSWER_FD + 1, _ANSWER_FD + 1))


def _child(payload: dict[str, Any], answer_fd: int, devnull: int, address_space: int) -> None:
    os.setpgid(0, 0)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.dup2(answer_fd, _ANSWER_FD)
    os.closerange(_ANSWER_FD + 1, 65536)
    limits = Limits.from_dict(payload["limits"])
    _confine(limits, address_space)
    random.seed()
    answer = expand_to_answer(payload)
    view = memoryview(answer)
    while view:
        view = view[os.write(_ANSWER_FD, view):]


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()


def serve_one(payload: dict[str, Any], devnull: int) -> bytes:
    """Fork a confined child for one request; return its answer or the reason it gave none."""
    limits = Limits.from_dict(payload["limits"])
    address_space = _address_space()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            _child(payload, write_fd, devnull, address_space)
            os._exit(0)
        finally:
            os._exit(_FAILED)
    os.close(write_fd)
    try:
        return _collect(pid, read_fd, limits)
    finally:
        os.close(read_fd)


def _collect(pid: int, read_fd: int, limits: Limits) -> bytes:
    deadline = time.monotonic() + limits.timeout
    cap = limits.max_output_bytes + 1024 * 1024
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _kill(pid)
            return failure(400, f"template expansion took longer than {limits.timeout:g} seconds")
        ready, _, _ = select.select([read_fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(read_fd, 1 << 20)
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            _kill(pid)
            limit = limits.max_output_bytes
            return failure(400, f"the expansion's output is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    answer = b"".join(chunks)
    if answer and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return answer
    return failure(400, _describe_death(status, limits))


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


def _kill(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except ProcessLookupError:
            pass
    os.waitpid(pid, 0)


_WARM_UP = {
    "limits": Limits().to_dict(),
    "request": {
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
    },
}


# Codecs are modules loaded on first use; these are the ones templates and Jinja meet.
_ENCODINGS = (
    "ascii", "latin-1", "utf-16", "utf-32", "utf-8-sig", "idna", "unicode_escape",
    "raw_unicode_escape", "cp1252", "base64_codec", "hex_codec",
)


def warm_up() -> None:
    """Load everything a child could need, since a confined child cannot open files."""
    expand_to_answer(_WARM_UP)
    failing = json.loads(json.dumps(_WARM_UP))
    failing["request"]["template"]["imports"][1]["content"] = "def GenerateConfig(c):\n  1/0\n"
    expand_to_answer(failing)
    for encoding in _ENCODINGS:
        codecs.lookup(encoding)


def main() -> None:
    """Serve requests from stdin until it closes."""
    warm_up()
    gc.collect()
    # Children only read the server's objects; keep their pages shared.
    gc.freeze()
    devnull = os.open(os.devnull, os.O_RDWR)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return
        write_frame(stdout, serve_one(json.loads(frame), devnull))


if __name__ == "__main__":
    main()
