"""Leases on running operations: who owns one, and whether that owner is still alive.

Every running operation records its *owner* (`host/pid/process-start-time`) and a
*heartbeat* (epoch seconds). A `Periodic` thread of the runner refreshes the heartbeats
of the operations its process owns every `lease_seconds / 4`. An operation is *orphaned* when

- its heartbeat is older than `lease_seconds` (the owner died, wherever it ran), or
- its owner ran on this host and that process is gone (a restart on the same host is
  detected at once, without waiting for the lease to run out).

Any manager process may then claim it (one conditional UPDATE decides who) and resume
it. Clocks of replicas sharing a database are assumed to agree to well within a lease.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Callable

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 20.0


def process_owner() -> str:
    """`host/pid/start-time`: names this process, and tells it apart from a later one
    that reuses its pid (as the first process of a restarted container does)."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start_time(pid) or uuid.uuid4().hex}"


def owner_is_dead(owner: str | None) -> bool:
    """True when `owner` ran on this host and that process no longer exists."""
    if not owner:
        return True
    host, _, rest = owner.partition("/")
    pid_text, _, started = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    current_start = _process_start_time(pid)
    if current_start is not None:
        return current_start != started
    if os.path.isdir("/proc"):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _process_start_time(pid: int) -> str | None:
    """The kernel's start time of a live process `pid` (Linux), or None when gone or unknown.

    A zombie counts as gone: a killed worker stays one until its parent reaps it, and
    it will never finish its operation.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # Fields counted after the parenthesised command name, which may hold spaces:
            # the state is field 3, the start time field 22.
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


class Periodic:
    """A daemon thread that calls `beat()` every `interval` seconds until stopped.

    The runner's beat refreshes this process's heartbeats and looks for orphaned
    operations to take over; an exception in one beat is logged and the next beat tries
    again.
    """

    def __init__(self, beat: Callable[[], None], interval: float):
        self._beat = beat
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._loop, name=f"dm-{self._beat.__name__.strip('_')}", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - keep beating; the next beat may succeed
                log.exception("could not refresh operation leases")
            if self._stop.wait(self._interval):
                return
