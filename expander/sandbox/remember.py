"""The fork server keeps what a request compiled and checked, so children forked later
start with it ready.

Python templates are compiled and schemas checked in the fork server itself. Jinja
evaluates constant expressions and filters while compiling (`{{ "a" | center(10**9) }}`),
so Jinja templates are compiled in a confined child that sends back the code, which the
fork server reads between requests.
"""

from __future__ import annotations

import gc
import json
import marshal
import os
import select
import time

from dmcommon.errors import DMError
from expander.engine import Expander
from expander.models import ExpansionRequest, Limits
from expander.sandbox.children import ANSWER_FD, FAILED, Child, write_all
from expander.sandbox.confinement import current_address_space, isolate, limit_resources
from expander.schemas import remembered_bytes
from expander.templates.jinja import SHARED_BYTECODE
from expander.templates.restricted import compiled_bytes

# What compiling one request's Jinja templates may take.
_COMPILE_LIMITS = Limits(timeout=5, cpu_seconds=3, memory_mb=256, max_output_bytes=64 << 20)


def kept_size() -> int:
    """How much this process keeps for its children; it grows whenever something is kept."""
    return compiled_bytes() + remembered_bytes() + SHARED_BYTECODE.size


def remember(body: bytes, devnull: int) -> JinjaCompilation | None:
    """Compile the Python templates and check the schemas of a request answered already;
    return the compilation of its Jinja templates, when some are new, under way."""
    try:
        expander = Expander(ExpansionRequest.from_dict(json.loads(body)), Limits())
    except (DMError, ValueError):
        return None
    expander.compile_python()
    expander.remember_schemas()
    # Children only read the objects kept; keep their pages shared.
    gc.freeze()
    templates = expander.uncompiled_jinja()
    return JinjaCompilation(expander, templates, devnull) if templates else None


class JinjaCompilation:
    """Jinja templates compiled in a confined child; `advance` reads what it sends back."""

    def __init__(self, expander: Expander, templates: list, devnull: int):
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
                write_all(ANSWER_FD, marshal.dumps(fresh))
                os._exit(0)
            finally:
                os._exit(FAILED)
        os.close(write_fd)
        self.child = Child(pid, -1, read_fd)
        self.deadline = time.monotonic() + _COMPILE_LIMITS.timeout
        self.done = False
        self._chunks: list[bytes] = []
        self._size = 0

    def advance(self) -> bool:
        """Read what the child has sent, without waiting; when it is done, keep its code.
        Whether there was anything to do."""
        fd = self.child.answer_fd
        if time.monotonic() > self.deadline:
            return self._finish(failed=True)
        if not select.select([fd], [], [], 0)[0]:
            return False
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return self._finish(failed=False)
        self._size += len(chunk)
        if self._size > _COMPILE_LIMITS.max_output_bytes:
            return self._finish(failed=True)
        self._chunks.append(chunk)
        return True

    def _finish(self, failed: bool) -> bool:
        self.done = True
        if failed:
            return True
        # The pipe closes as the child exits.
        self.child.reaped(block=True)
        status = self.child.status or 0
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return True
        data = b"".join(self._chunks)
        try:
            SHARED_BYTECODE.adopt(marshal.loads(data), len(data))
        except (EOFError, ValueError, TypeError):
            return True
        gc.freeze()
        return True
