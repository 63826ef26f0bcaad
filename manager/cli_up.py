"""`dm up`: run the whole local stack in the foreground until Ctrl-C or SIGTERM.

The three services run through their console scripts (dm-expander, dm-resourcifier,
dm-manager), each in its own process group so that stopping one stops its gunicorn
workers too. With `--cluster sim` the Kubernetes API simulator runs as well and the
resourcifier talks to it; otherwise kubectl uses the current kube context.

State lives under the data directory: `state/` for a real cluster, `sim-state/` for the
simulator. The simulator keeps its objects in memory, so `sim-state/` is emptied at
each start: a record of deployments whose objects no longer exist would only mislead.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import click
import requests

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
POLL_INTERVAL = 0.2


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/dm`, i.e. `~/.local/share/dm` unless XDG_DATA_HOME says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "dm"


class StackError(Exception):
    """A part of the stack could not start or stopped on its own."""


@dataclass
class Child:
    """One running part of the stack and where its output goes."""

    name: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class LocalStack:
    """Starts children, waits for them to answer, and stops every one of them."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Child:
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                # Own process group: Ctrl-C reaches only `dm up`, which then stops the
                # whole group (gunicorn master and workers) in order.
                start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def wait_until_answering(
        self, child: Child, url: str, headers: dict[str, str] | None = None
    ) -> None:
        """Poll `url` until it answers 200; fail early when `child` exits."""
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            self.check_running()
            try:
                response = requests.get(url, headers=headers, timeout=2)
                if response.ok:
                    return
                last = f"HTTP {response.status_code}: {response.text.strip()[:300]}"
            except requests.RequestException as error:
                last = str(error)
            time.sleep(POLL_INTERVAL)
        raise StackError(
            f"{child.name} did not become ready at {url} within {READY_TIMEOUT:.0f}s "
            f"({last})\n{child.log_tail()}"
        )

    def check_running(self) -> None:
        """Raise StackError naming the first child that has exited."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise StackError(
                    f"{child.name} exited with code {code}; last lines of {child.log_path}:\n"
                    f"{child.log_tail()}"
                )

    def stop(self) -> None:
        """SIGTERM each child's group (newest first), then SIGKILL what is left."""
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # Workers may outlive a master that was killed; the group takes them all.
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _check_port_free(host: str, port: int, option: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise click.ClickException(
                f"port {port} on {host} is already in use (another `dm up`?); "
                f"stop what uses it or choose another port with {option}"
            ) from None


def _script(name: str) -> str:
    """The console script `name` installed next to this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"{name} is not installed (pip install -e . installs it)")
    return found


def _install_stop_signals(stop: Callable[[], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop())


class _StopRequested(Exception):
    pass


def _raise_stop() -> None:
    raise _StopRequested


@click.command()
@click.option(
    "--cluster",
    type=click.Choice(["kube", "sim"]),
    default="kube",
    show_default=True,
    help="kube: kubectl's current context; sim: start the Kubernetes API simulator",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=default_data_dir,
    show_default="~/.local/share/dm",
    help="SQLite state, logs and the simulator's kubeconfig",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address the services bind")
@click.option("--manager-port", default=8080, show_default=True, type=int)
@click.option("--expander-port", default=8081, show_default=True, type=int)
@click.option("--resourcifier-port", default=8082, show_default=True, type=int)
@click.option("--sim-port", default=8083, show_default=True, type=int, help="with --cluster sim")
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn workers each")
@click.option("--kubeconfig", help="kubeconfig for --cluster kube (default: kubectl's)")
@click.option("--context", "kube_context", help="kube context for --cluster kube")
@click.pass_context
def up(
    ctx: click.Context,
    cluster: str,
    data_dir: Path,
    host: str,
    manager_port: int,
    expander_port: int,
    resourcifier_port: int,
    sim_port: int,
    workers: int,
    kubeconfig: str | None,
    kube_context: str | None,
) -> None:
    """Run the manager, expander and resourcifier locally until Ctrl-C."""
    ports = [
        (manager_port, "--manager-port"),
        (expander_port, "--expander-port"),
        (resourcifier_port, "--resourcifier-port"),
    ]
    if cluster == "sim":
        ports.append((sim_port, "--sim-port"))
    if len({port for port, _ in ports}) != len(ports):
        raise click.ClickException("each service needs its own port")
    for port, option in ports:
        _check_port_free(host, port, option)

    data_dir = data_dir.expanduser().resolve()
    state_dir = data_dir / ("sim-state" if cluster == "sim" else "state")
    if cluster == "sim" and state_dir.exists():
        shutil.rmtree(state_dir)
    log_dir = data_dir / "logs"
    for folder in (state_dir, log_dir):
        folder.mkdir(parents=True, exist_ok=True)

    token = ctx.find_root().params.get("token")
    env = {"DM_API_TOKEN": token} if token else {}
    serve = ["--host", host, "--workers", str(workers)]
    urls = {
        "manager": f"http://{host}:{manager_port}",
        "expander": f"http://{host}:{expander_port}",
        "resourcifier": f"http://{host}:{resourcifier_port}",
    }
    resourcifier_flags: list[str] = []
    sim_kubeconfig = data_dir / "sim.kubeconfig"
    if cluster == "sim":
        urls["simulator"] = f"http://{host}:{sim_port}"
        resourcifier_flags = ["--kubeconfig", str(sim_kubeconfig)]
    else:
        if kubeconfig:
            resourcifier_flags += ["--kubeconfig", kubeconfig]
        if kube_context:
            resourcifier_flags += ["--context", kube_context]

    stack = LocalStack(log_dir)
    _install_stop_signals(_raise_stop)
    try:
        if cluster == "sim":
            sim = stack.start(
                "simulator",
                [
                    sys.executable, "-m", "kubesim",
                    "--port", str(sim_port), "--kubeconfig", str(sim_kubeconfig),
                ],
            )
            stack.wait_until_answering(sim, f"{urls['simulator']}/healthz")
        expander = stack.start(
            "expander", [_script("dm-expander"), "--port", str(expander_port), *serve]
        )
        resourcifier = stack.start(
            "resourcifier",
            [_script("dm-resourcifier"), "--port", str(resourcifier_port), *serve,
             *resourcifier_flags],
        )
        manager = stack.start(
            "manager",
            [
                _script("dm-manager"), "--port", str(manager_port), *serve,
                "--expander-url", urls["expander"],
                "--resourcifier-url", urls["resourcifier"],
                "--data-dir", str(state_dir),
            ],
            env,
        )
        stack.wait_until_answering(expander, f"{urls['expander']}/healthz")
        stack.wait_until_answering(resourcifier, f"{urls['resourcifier']}/healthz")
        auth = {"Authorization": f"Bearer {token}"} if token else None
        stack.wait_until_answering(manager, f"{urls['manager']}/readyz", auth)
        click.echo(_what_now(cluster, data_dir, urls, sim_kubeconfig, manager_port), nl=True)
        while True:
            stack.check_running()
            time.sleep(POLL_INTERVAL)
    except (KeyboardInterrupt, _StopRequested):
        click.echo("stopping DM ...", err=True)
    except StackError as error:
        raise click.ClickException(str(error)) from None
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave orphans.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
    click.echo("DM stopped", err=True)


def _what_now(
    cluster: str, data_dir: Path, urls: dict[str, str], sim_kubeconfig: Path, manager_port: int
) -> str:
    target = "the Kubernetes API simulator" if cluster == "sim" else "kubectl's current context"
    lines = [f"DM is up on {target}; state and logs in {data_dir}"]
    lines += [f"  {name:<14}{url}" for name, url in urls.items()]
    lines += ["", "Next:"]
    if manager_port != 8080:
        lines.append(f"  export DM_SERVICE={urls['manager']}")
    if cluster == "sim":
        lines.append(f"  export KUBECONFIG={sim_kubeconfig}   # kubectl then sees the simulator")
    lines += [
        "  dm deploy examples/guestbook/guestbook.yaml",
        "  dm get guestbook",
        "",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
