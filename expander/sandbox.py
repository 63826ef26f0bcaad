"""The service side of the sandbox: hands each expansion to the fork server and reads the answer.

Each service process starts its own fork server (`expander.forkserver`) on first use, with
an empty environment, and talks to it over two pipes. Requests from one process are
serialised; gunicorn's workers each have their own fork server.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from dmcommon.errors import BadRequest, DMError, PayloadTooLarge, ServiceUnavailable
from expander.forkserver import failure, read_frame, write_frame
from expander.models import ExpansionRequest, Limits

_ERRORS = {400: BadRequest, 413: PayloadTooLarge, 503: ServiceUnavailable}
_SOURCE_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from expander.forkserver import main; main()"
)
# Time the fork server itself may take beyond the expansion's own limit: start-up,
# forking and copying the answer.
_GRACE_SECONDS = 30.0


class Sandbox:
    """A connection to one fork server, started when first needed and again after a failure."""

    def __init__(self):
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._owner = 0

    def expand(self, request: ExpansionRequest, limits: Limits) -> dict[str, Any]:
        """Expand `request` in a confined process; return `{"config", "layout"}` or raise."""
        message = json.dumps({"limits": limits.to_dict(), "request": request.to_dict()}).encode()
        with self._lock:
            answer = self._exchange(message, limits.timeout + _GRACE_SECONDS)
        payload = json.loads(answer)
        if payload["ok"]:
            return payload["result"]
        raise _ERRORS.get(payload["status"], DMError)(payload["message"])

    def _exchange(self, message: bytes, timeout: float) -> bytes:
        process = self._running()
        try:
            write_frame(process.stdin, message)
            ready, _, _ = select.select([process.stdout], [], [], timeout)
            answer = read_frame(process.stdout) if ready else None
        except OSError:
            answer = None
        if answer is None:
            self.close()
            return failure(503, "the template sandbox stopped unexpectedly; try again")
        return answer

    def _running(self) -> subprocess.Popen:
        # A forked copy of this object (e.g. in a gunicorn worker) needs its own server.
        if self._process is not None and self._owner == os.getpid():
            if self._process.poll() is None:
                return self._process
            self.close()
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT, _SOURCE_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd="/",
            close_fds=True,
        )
        self._owner = os.getpid()
        return self._process

    def close(self) -> None:
        """Stop this process's fork server, if it has one."""
        process, self._process = self._process, None
        if process is None or self._owner != os.getpid():
            return
        process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            stream.close()


_shared = Sandbox()


def shared_sandbox() -> Sandbox:
    """The fork server connection of this process, shared by every app it serves."""
    return _shared
