"""Helpers for tests that run DM's services as real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from dmcli.processes import Child, ChildError, free_port

BIN = Path(sys.executable).parent


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


class ServiceProcess(Child):
    """A service started as a child process that answers at `health_url`, else is stopped."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        health_url: str,
        log_path: Path,
        env: dict[str, str] | None = None,
        timeout: float = 30.0,
    ):
        super().__init__(name, args, log_path, env)
        try:
            self.wait_until_answering(health_url, timeout=timeout)
        except ChildError:
            self.stop()
            raise


def start_simulator(workdir: Path) -> tuple[ServiceProcess, str, Path]:
    """Start the Kubernetes API simulator; return (process, url, kubeconfig path)."""
    port = free_port()
    kubeconfig = workdir / "sim.kubeconfig"
    url = f"http://127.0.0.1:{port}"
    process = ServiceProcess(
        "simulator",
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
        name,
        [str(BIN / f"dm-{name}"), "--port", str(port), "--workers", "2", *flags],
        f"{url}/healthz",
        workdir / f"{name}-{port}.log",
        env,
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


@dataclass
class OwnStack:
    """The simulator and the three services started for one test module, logs included."""

    urls: dict[str, str]
    kubeconfig: Path
    processes: list[ServiceProcess]

    @property
    def manager(self) -> str:
        return self.urls["manager"]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def start_own_stack(workdir: Path) -> OwnStack:
    """Start a simulator, an expander, a resourcifier on the simulator and a manager."""
    simulator, _, kubeconfig = start_simulator(workdir)
    expander, expander_url = start_service("expander", workdir)
    resourcifier, resourcifier_url = start_service(
        "resourcifier", workdir, ["--kubeconfig", str(kubeconfig)]
    )
    manager, manager_url = start_manager(workdir, expander_url, resourcifier_url)
    urls = {"manager": manager_url, "expander": expander_url, "resourcifier": resourcifier_url}
    return OwnStack(urls, kubeconfig, [simulator, expander, resourcifier, manager])


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
