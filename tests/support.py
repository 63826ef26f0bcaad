"""Helpers for tests that run DM's services as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as error:  # noqa: BLE001 - the condition may fail until it holds
            last_error = error
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout}s (last error: {last_error})")


class ServiceProcess:
    """A service started as a child process and stopped (with its workers) on `stop`."""

    def __init__(
        self,
        args: Sequence[str],
        health_url: str | None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        timeout: float = 30.0,
    ):
        self.args = list(args)
        self.health_url = health_url
        self.log_path = log_path
        log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.args,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if log_path:
            log.close()
        if health_url:
            try:
                wait_until(self._healthy, timeout=timeout)
            except TimeoutError:
                self.stop()
                message = f"{self.args[0]} did not become healthy:\n{self.log()}"
                raise RuntimeError(message) from None

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.args} exited with {self.process.returncode}:\n{self.log()}")
        return requests.get(self.health_url, timeout=1).ok

    def log(self) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-5000:]
        return ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the whole process group (gunicorn master and workers)."""
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass


def start_simulator(workdir: Path) -> tuple[ServiceProcess, str, Path]:
    """Start the Kubernetes API simulator; return (process, url, kubeconfig path)."""
    port = free_port()
    kubeconfig = workdir / "sim.kubeconfig"
    url = f"http://127.0.0.1:{port}"
    process = ServiceProcess(
        [
            sys.executable, "-m", "kubesim",
            "--port", str(port), "--kubeconfig", str(kubeconfig),
        ],
        f"{url}/healthz",
        log_path=workdir / "sim.log",
    )
    return process, url, kubeconfig


def start_service(
    name: str, workdir: Path, flags: Sequence[str] = (), env: dict[str, str] | None = None
) -> tuple[ServiceProcess, str]:
    """Start `dm-<name>` under gunicorn on a free port; return (process, base URL)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ServiceProcess(
        [str(BIN / f"dm-{name}"), "--port", str(port), "--workers", "2", *flags],
        f"{url}/healthz",
        env=env,
        log_path=workdir / f"{name}-{port}.log",
    )
    return process, url


def manager_flags(
    workdir: Path, expander_url: str, resourcifier_url: str, *extra: str
) -> list[str]:
    """Flags of a manager with its own SQLite under `workdir`, over the given services."""
    return [
        "--expander-url", expander_url,
        "--resourcifier-url", resourcifier_url,
        "--data-dir", str(workdir / "data"),
        *extra,
    ]


def start_manager(
    workdir: Path, expander_url: str, resourcifier_url: str, env: dict[str, str] | None = None
) -> tuple[ServiceProcess, str]:
    """Start a manager with its own SQLite under `workdir`; return (process, base URL)."""
    return start_service(
        "manager", workdir, manager_flags(workdir, expander_url, resourcifier_url), env=env
    )


def kubectl(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real kubectl against `kubeconfig`.

    Discovery is cached beside the kubeconfig: kubectl's shared cache outlives a
    simulator and could describe kinds of an earlier one that used the same port.
    """
    cache = Path(kubeconfig).parent / "kubectl-cache"
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )
