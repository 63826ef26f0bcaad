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
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Callable

import click

from dmcli.processes import ChildError, Supervisor, console_script, port_is_free

WATCH_INTERVAL = 0.2


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/dm`, i.e. `~/.local/share/dm` unless XDG_DATA_HOME says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "dm"


def _check_port_free(host: str, port: int, option: str) -> None:
    if not port_is_free(host, port):
        raise click.ClickException(
            f"port {port} on {host} is already in use (another `dm up`?); "
            f"stop what uses it or choose another port with {option}"
        )


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
    # The expander and resourcifier never serve anonymous callers: one token shared by
    # the three services, the caller's when DM_INTERNAL_TOKEN is set, else a fresh one.
    internal = {"DM_INTERNAL_TOKEN": os.environ.get("DM_INTERNAL_TOKEN") or secrets.token_hex(32)}
    env = {**internal, "DM_API_TOKEN": token} if token else internal
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

    stack = Supervisor(log_dir)
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
            "expander",
            [console_script("dm-expander"), "--port", str(expander_port), *serve],
            internal,
        )
        resourcifier = stack.start(
            "resourcifier",
            [console_script("dm-resourcifier"), "--port", str(resourcifier_port), *serve,
             *resourcifier_flags],
            internal,
        )
        manager = stack.start(
            "manager",
            [
                console_script("dm-manager"), "--port", str(manager_port), *serve,
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
            time.sleep(WATCH_INTERVAL)
    except (KeyboardInterrupt, _StopRequested):
        click.echo("stopping DM ...", err=True)
    except ChildError as error:
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
