"""The service side of the sandbox: hands each expansion to the fork server and reads the answer.

A `Sandbox` starts its fork server (`expander.sandbox.forkserver`) on first use, with an
empty environment, and talks to it over two pipes; requests through one sandbox are
serialised. Starting late matters: gunicorn forks its workers after building the app,
and a fork server belongs to the process that started it, so each worker starts its own
on its first request (a forked copy of a running one starts anew, too).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from dmcommon.errors import BadRequest, DMError, ServiceUnavailable
from expander.metrics import expansion_ended, sandbox_killed
from expander.models import Limits
from expander.sandbox.forkserver import failure, read_frame, write_frames

_ERRORS = {400: BadRequest, 503: ServiceUnavailable}
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from expander.sandbox.forkserver import main; main()"
)
_READINESS_BODY = json.dumps(
    {"template": {"name": "readiness", "content": "resources: []\n"}, "env": {}}
).encode()
# Time the fork server itself may take beyond the expansion's own limit: start-up,
# forking and copying the answer.
_GRACE_SECONDS = 30.0


class Sandbox:
    """A connection to one fork server, started when first needed and again after a failure.

    `interpreter` is the Python that runs the fork server (by default the service's own).
    """

    def __init__(self, interpreter: str = sys.executable):
        self._interpreter = interpreter
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._owner = 0

    def expand(self, body: bytes, limits: Limits) -> bytes:
        """Expand a `POST /expand` body in a confined process; return the answer's JSON.

        An expansion error is raised as the DMError its status names.
        """
        started = time.perf_counter()
        with self._lock:
            answer = self._exchange(
                json.dumps(limits.to_dict()).encode(), body, limits.timeout + _GRACE_SECONDS
            )
        status, payload = int(answer[:3]), answer[3:]
        error = None if status == 200 else json.loads(payload)
        expansion_ended(status, error and error.get("killed"), time.perf_counter() - started)
        if error is None:
            return payload
        raise _ERRORS.get(status, DMError)(error["message"])

    def check(self) -> None:
        """Raise `ServiceUnavailable` unless this process's fork server expands a trivial
        configuration (starting it first if need be). A sandbox busy expanding is working."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            answer = self._exchange(
                json.dumps(Limits().to_dict()).encode(), _READINESS_BODY, _GRACE_SECONDS
            )
        finally:
            self._lock.release()
        if int(answer[:3]) != 200:
            raise ServiceUnavailable(
                f"the template sandbox cannot expand: {json.loads(answer[3:])['message']}"
            )

    @property
    def server_pid(self) -> int | None:
        """The fork server's process id, when this process has one running."""
        if self._process is None or self._owner != os.getpid():
            return None
        return self._process.pid

    def _exchange(self, limits: bytes, body: bytes, timeout: float) -> bytes:
        # Expansion has no side effects, so a request that met a dead fork server (one
        # that crashed or was killed since the last request) is sent once more to a new one.
        for _ in range(2):
            try:
                process = self._running()
                write_frames(process.stdin, limits, body)
                ready, _, _ = select.select([process.stdout], [], [], timeout)
                if not ready:
                    sandbox_killed("unresponsive")
                    break
                answer = read_frame(process.stdout)
            except OSError:
                answer = None
            if answer is not None:
                return answer
            self.close()
        self.close()
        return failure(503, "the template sandbox stopped unexpectedly; try again")

    def _running(self) -> subprocess.Popen:
        # A forked copy of this object (e.g. in a gunicorn worker) needs its own server.
        if self._process is not None and self._owner == os.getpid():
            if self._process.poll() is None:
                return self._process
            self.close()
        self._process = subprocess.Popen(
            [self._interpreter, "-I", "-c", _BOOT, _SOURCE_ROOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # A fork server that fails to start says why in the service's log.
            stderr=None,
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
            # Closing flushes what was written; to a dead process that is a broken pipe.
            with contextlib.suppress(OSError):
                stream.close()

