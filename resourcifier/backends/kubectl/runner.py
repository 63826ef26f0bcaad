"""Running kubectl: connection flags, a timeout on every call, no shell, no leaked token."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from dmcommon.errors import BadGateway, GatewayTimeout

log = logging.getLogger(__name__)

# Settings that become `--flag value` on every call, in this order.
_VALUE_FLAGS = (
    ("KUBECONFIG", "--kubeconfig"),
    ("CONTEXT", "--context"),
    ("SERVER", "--server"),
    ("TOKEN", "--token"),
    ("CERTIFICATE_AUTHORITY", "--certificate-authority"),
    ("CLIENT_CERTIFICATE", "--client-certificate"),
    ("CLIENT_KEY", "--client-key"),
)

# kubectl's ways of saying that it never got an answer from the cluster (or was turned
# away as a whole), as opposed to the cluster refusing one object.
_UNREACHABLE = re.compile(
    r"Unable to connect to the server|The connection to the server .* was refused"
    r"|dial tcp|no such host|i/o timeout|connection reset by peer|x509:|tls:"
    r"|You must be logged in to the server|provide credentials"
    r"|couldn't get current server API group list|invalid configuration"
    r"|no configuration has been provided",
)

# The client library's own log lines (klog): `I1122 04:42:24.099294   11253 file.go:245] ...`.
_LOG_LINE = re.compile(r"[IW]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ \S+:\d+\] ")


@dataclass
class Outcome:
    """A finished kubectl call; `stderr` is already scrubbed of secrets."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def unreachable(self) -> bool:
        """Whether the failure is about the cluster connection rather than an object.

        An answer from the server means it was reached, even when its message speaks of
        a connection (an admission webhook that cannot be called fails one object).
        """
        return (
            not self.ok
            and "Error from server" not in self.stderr
            and bool(_UNREACHABLE.search(self.stderr))
        )

    def error_lines(self) -> list[str]:
        """kubectl's error text, one entry per line, warnings and its client's info or
        warning log lines left out when errors remain."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        errors = [
            line for line in lines if not line.startswith("Warning:") and not _LOG_LINE.match(line)
        ]
        return errors or lines or [f"kubectl exited with status {self.returncode}"]

    def reason(self) -> str:
        return "; ".join(self.error_lines())


class Kubectl:
    """Runs the configured kubectl with the configured connection flags.

    With no connection setting at all, kubectl finds its own configuration: the
    KUBECONFIG variable, ~/.kube/config or, in a pod, the service account.
    """

    def __init__(self, config: Mapping[str, Any]):
        self.binary = config["KUBECTL"]
        self.timeout = float(config["KUBECTL_TIMEOUT"])
        self._token = config.get("TOKEN") or None
        self._flags: list[str] = []
        for key, flag in _VALUE_FLAGS:
            if config.get(key):
                self._flags += [flag, str(config[key])]
        if config.get("INSECURE_SKIP_TLS_VERIFY"):
            self._flags.append("--insecure-skip-tls-verify=true")
        self._cache_dir: str | None = None

    def resolve_binary(self) -> str:
        """The kubectl executable's path; raises ValueError when there is none."""
        path = shutil.which(self.binary)
        if not path:
            raise ValueError(f"kubectl not found: {self.binary!r} is not an executable")
        return path

    def run(self, args: Sequence[str], stdin: str | None = None) -> Outcome:
        """Run `kubectl <flags> <args>`; raise 504 on timeout, 502 when it cannot start."""
        command = [self.binary, *self._flags, "--cache-dir", self._cache(), *args]
        log.debug("kubectl %s", self.scrub(" ".join(args)))
        try:
            # Its own session, so a timeout also ends whatever kubectl started (credential
            # plugins) instead of waiting on their open pipes.
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as error:
            raise BadGateway(f"cannot run kubectl {self.binary!r}: {error.strerror}") from None
        try:
            stdout, stderr = process.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise GatewayTimeout(
                f"kubectl {args[0]} did not finish within {self.timeout:g} seconds"
            ) from None
        return Outcome(process.returncode, stdout, self.scrub(stderr))

    def scrub(self, text: str) -> str:
        """`text` with the bearer token replaced, so it can be logged or answered."""
        return text.replace(self._token, "<token>") if self._token else text

    def _cache(self) -> str:
        # A private discovery cache: shared ~/.kube/cache may be read-only in a pod or
        # stale from another cluster; created lazily so start-up checks leave none behind.
        if self._cache_dir is None:
            self._cache_dir = tempfile.mkdtemp(prefix="dm-kubectl-cache-")
            atexit.register(shutil.rmtree, self._cache_dir, True)
        return self._cache_dir
