"""Confinement of a freshly forked child, below the Python-level checks of the templates.

A confined child has its own process group, stdio on /dev/null, only the descriptors it
was handed (renumbered from FIRST_FD), no environment, no core dumps, cannot write to
files (file size limit 0) or fork (process limit 0), and runs as `nobody` when started
as root. `limit_resources` then caps its CPU time and address space and lets it open
nothing more.
"""

from __future__ import annotations

import fcntl
import os
import resource
import signal

from expander.models import Limits

FIRST_FD = 3
"""The first of the descriptors `isolate` hands the child, renumbered in order."""
_NOBODY = 65534


def isolate(devnull: int, *fds: int) -> None:
    """Confine a newly forked child: its own process group, stdio on /dev/null, `fds`
    renumbered FIRST_FD, FIRST_FD + 1, ... and nothing else open, no environment, no
    privileges."""
    os.setpgid(0, 0)
    # Move the descriptors out of the way first, so no dup2 overwrites one still needed.
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 256) for fd in fds]
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    for target, fd in enumerate(moved, start=FIRST_FD):
        os.dup2(fd, target)
    os.closerange(FIRST_FD + len(fds), 65536)
    _drop_privileges()


def _drop_privileges() -> None:
    os.environ.clear()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Writing to a file fails with EFBIG instead of killing the child.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    if os.getuid() == 0:
        try:
            os.setgroups([])
            os.setgid(_NOBODY)
            os.setuid(_NOBODY)
        except PermissionError:
            # Root without the capability to change identity (some containers): the
            # other limits still hold, so expanding is still allowed.
            pass
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def limit_resources(limits: Limits, address_space: int) -> None:
    """Cap CPU time and address space, and allow no descriptor past FIRST_FD (the answer's)."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    memory = address_space + limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_NOFILE, (FIRST_FD + 1, FIRST_FD + 1))


def current_address_space() -> int:
    """Bytes of address space this process maps now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * resource.getpagesize()
