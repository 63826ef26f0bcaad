"""Services run as child processes: how `dm up` and the end-to-end tests start, watch,
restart and stop them.

Each child runs in its own process group, so that stopping it also stops what it
started (a gunicorn master and its workers), and writes its output to a log file
whose last lines explain a failure. A child that dies after start-up is started again
by `Supervisor.tend` after a pause that doubles with each restart (RESTART_PAUSES),
so a service that cannot stay up does not spin.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.1
RESTART_PAUSES = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
# A child that stayed up this long starts again from the shortest pause.
STABLE_SECONDS = 60.0


class ChildError(Exception):
    """A child could not start, exited on its own or did not answer in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """True when a server could listen on `port` of `host` now."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def answers(url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> str | None:
    """None when `url` answers 2xx, else what went wrong (status and text, or the error)."""
    import urllib.error
    import urllib.request

    # No proxy: the services run on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=timeout):
            return None
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace").strip()[:300]
        return f"HTTP {error.code}: {text}"
    except (urllib.error.URLError, OSError) as error:
        return str(getattr(error, "reason", error))


def console_script(name: str) -> str:
    """The console script `name` installed next to this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise ChildError(f"{name} is not installed (pip install -e . installs it)")
    return found


class Child:
    """One process started in a process group of its own, its output going to `log_path`."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        log_path: Path,
        env: dict[str, str] | None = None,
    ):
        self.name = name
        self.log_path = log_path
        self.args = list(args)
        self.env = {**os.environ, **(env or {})}
        self.restarts = 0
        self.restart_due: float | None = None
        self._stopped = False
        self._spawn("wb")

    def _spawn(self, mode: str) -> None:
        with open(self.log_path, mode) as log:
            self.process = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                # Own process group: a Ctrl-C at the terminal reaches only the parent,
                # which then stops the whole group in order.
                start_new_session=True,
            )
        self.started_at = time.monotonic()

    def restart(self) -> None:
        """Start the child again, its output appended to the same log; what is left of
        the old group (workers of a killed master hold its port) is killed first."""
        self.send(signal.SIGKILL)
        self.process.wait()
        self._stopped = False
        self._spawn("ab")

    def log(self, lines: int | None = None) -> str:
        """The child's output so far, or only its last `lines` lines."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text if lines is None else "\n".join(text.splitlines()[-lines:])

    def check_running(self) -> None:
        """Raise ChildError, with the end of the log, when the child has exited."""
        code = self.process.poll()
        if code is not None:
            raise ChildError(
                f"{self.name} exited with code {code}; last lines of {self.log_path}:\n"
                f"{self.log(20)}"
            )

    def wait_until_answering(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        timeout: float = READY_TIMEOUT,
        check: Callable[[], None] | None = None,
    ) -> None:
        """Poll `url` until it answers 2xx; fail early when `check` (by default: this
        child is still running) raises."""
        check = check or self.check_running
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            check()
            problem = answers(url, headers)
            if problem is None:
                return
            last = problem
            time.sleep(POLL_INTERVAL)
        raise ChildError(
            f"{self.name} did not become ready at {url} within {timeout:.0f}s "
            f"({last})\n{self.log(20)}"
        )

    def send(self, sig: int) -> None:
        """Send `sig` to the child's whole process group, unless it is finished: its
        group id may belong to another process by now."""
        if self._stopped:
            return
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the group and wait for the child to exit."""
        self.send(sig)
        self.process.wait()
        self._stopped = True

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL what is left after STOP_TIMEOUT seconds."""
        self.send(signal.SIGTERM)
        self.finish(time.monotonic() + STOP_TIMEOUT)

    def finish(self, deadline: float) -> None:
        """Wait for the child until `deadline` (a `time.monotonic()` value), then SIGKILL
        its group."""
        if self._stopped:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # Workers may outlive a master that was killed; the group takes them all.
        self.send(signal.SIGKILL)
        self.process.wait()
        self._stopped = True


class Supervisor:
    """Children started, watched and stopped together; their logs are in `log_dir`."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, args: Sequence[str], env: dict[str, str] | None = None) -> Child:
        child = Child(name, args, self.log_dir / f"{name}.log", env)
        self.children.append(child)
        return child

    def check_running(self) -> None:
        """Raise ChildError naming the first child that has exited."""
        for child in self.children:
            child.check_running()

    def wait_until_answering(
        self, child: Child, url: str, headers: dict[str, str] | None = None
    ) -> None:
        """Poll `url` until `child` answers; fail early when any child exits."""
        child.wait_until_answering(url, headers, check=self.check_running)

    def tend(self) -> list[str]:
        """Restart children that exited, each once its pause is over; what happened, as lines."""
        news = []
        now = time.monotonic()
        for child in self.children:
            code = child.process.poll()
            if code is None:
                if child.restarts and now - child.started_at > STABLE_SECONDS:
                    child.restarts = 0
                continue
            if child.restart_due is None:
                pause = RESTART_PAUSES[min(child.restarts, len(RESTART_PAUSES) - 1)]
                child.restart_due = now + pause
                news.append(
                    f"{child.name} exited with code {code}; restarting it in {pause:g} s "
                    f"(log: {child.log_path})"
                )
            elif now >= child.restart_due:
                child.restart()
                child.restarts += 1
                child.restart_due = None
                news.append(f"{child.name} restarted (restart {child.restarts})")
        return news

    def stop(self) -> None:
        """SIGTERM every child's group (newest first), then SIGKILL what is left."""
        for child in reversed(self.children):
            child.send(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in reversed(self.children):
            child.finish(deadline)
        self.children.clear()
