"""What `dm up` runs: the whole local stack in the foreground until Ctrl-C or SIGTERM,
from the start-up checks to the stop.

The three services run through their console scripts (dm-expander, dm-resourcifier,
dm-manager), each in its own process group so that stopping one stops its gunicorn
workers too. With `--cluster sim` the Kubernetes API simulator runs as well and the
resourcifier talks to it; otherwise kubectl uses the current kube context, or, with
`--backend docker`, the resourcifier runs the resources on the Docker engine.

Start-up fails fast and says why: a busy port, a kubeconfig or context kubectl cannot
use, a cluster or engine the resourcifier cannot reach. Once up, a service that dies
is reported and started again (processes.Supervisor.tend); the others keep running.
The three services share an internal token made here, so the expander and the
resourcifier never serve anonymous callers.

State lives under the data directory: `state/` for a real cluster, `sim-state/` for the
simulator. The simulator keeps its objects in memory, so `sim-state/` is emptied at
each start: a record of deployments whose objects no longer exist would only mislead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import click

from dmcli.processes import ChildError, Supervisor, answers, console_script, port_is_free

WATCH_INTERVAL = 0.2


def _check_port_free(host: str, port: int, option: str) -> None:
    if not port_is_free(host, port):
        raise click.ClickException(
            f"port {port} on {host} is already in use (another `dm up`?); "
            f"stop what uses it or choose another port with {option}"
        )


def check_kube_config(kubeconfig: str | None, context: str | None) -> None:
    """Fail with a clear message when kubectl cannot use `kubeconfig` and `context`."""
    where = kubeconfig or "kubectl's kubeconfig ($KUBECONFIG or ~/.kube/config)"
    if kubeconfig and not Path(kubeconfig).expanduser().is_file():
        raise click.ClickException(f"--kubeconfig {kubeconfig}: no such file")
    kubectl = shutil.which("kubectl")
    if not kubectl:
        raise click.ClickException(
            "kubectl is not installed: the resourcifier needs it for --cluster kube "
            "(or use --cluster sim, or --backend docker)"
        )
    base = [kubectl, "config"] + (["--kubeconfig", kubeconfig] if kubeconfig else [])
    listed = subprocess.run(
        [*base, "get-contexts", "-o", "name"], capture_output=True, text=True, timeout=30
    )
    if listed.returncode != 0:
        raise click.ClickException(f"kubectl cannot read {where}: {listed.stderr.strip()}")
    contexts = listed.stdout.split()
    known = ", ".join(contexts) or "none"
    if context is not None:
        if context not in contexts:
            raise click.ClickException(
                f"--context {context}: no such context in {where} (it has: {known})"
            )
        return
    current = subprocess.run(
        [*base, "current-context"], capture_output=True, text=True, timeout=30
    )
    if current.returncode != 0 or not current.stdout.strip():
        raise click.ClickException(
            f"{where} has no current context: pass --context (it has: {known})"
        )


def _wait_for_backend(stack: Supervisor, url: str, backend: str, timeout: float) -> None:
    """Wait up to `timeout` seconds until the resourcifier reaches its cluster or engine;
    else fail saying why."""
    deadline = time.monotonic() + timeout
    while True:
        stack.check_running()
        problem = answers(f"{url}/readyz", timeout=10)
        if problem is None:
            return
        if time.monotonic() > deadline:
            docker = backend == "docker"
            target = "Docker engine" if docker else "cluster"
            hint = "check DOCKER_HOST" if docker else "check --kubeconfig and --context"
            raise ChildError(
                f"the resourcifier cannot reach the {target}: {_message(problem)}; {hint}"
            )
        time.sleep(WATCH_INTERVAL)


def _message(problem: str) -> str:
    """The `message` of a JSON error answer quoted in `problem`, else `problem` itself."""
    _, _, body = problem.partition(": ")
    try:
        return json.loads(body)["message"]
    except (ValueError, TypeError, KeyError):
        return problem


def _install_stop_signals(stop: Callable[[], None]) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop())


class _StopRequested(Exception):
    pass


def _raise_stop() -> None:
    raise _StopRequested


def run(
    ctx: click.Context,
    backend: str,
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
    ready_timeout: float,
) -> None:
    """Check, start and watch the stack of `dm up` until a stop signal (see the module)."""
    if backend == "docker":
        if cluster == "sim" or kubeconfig or kube_context:
            raise click.UsageError(
                "--backend docker runs without a cluster: leave out --cluster, "
                "--kubeconfig and --context",
                ctx,
            )
        cluster = "docker"
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

    if cluster == "kube":
        check_kube_config(kubeconfig, kube_context)

    data_dir = data_dir.expanduser().resolve()
    state_dir = data_dir / {"sim": "sim-state", "kube": "state", "docker": "docker-state"}[cluster]
    if cluster == "sim" and state_dir.exists():
        shutil.rmtree(state_dir)
    log_dir = data_dir / "logs"
    for folder in (state_dir, log_dir):
        folder.mkdir(parents=True, exist_ok=True)

    token = ctx.find_root().params.get("token")
    internal = {"DM_INTERNAL_TOKEN": os.environ.get("DM_INTERNAL_TOKEN") or secrets.token_hex(24)}
    env = {**internal, **({"DM_API_TOKEN": token} if token else {})}
    serve = ["--host", host, "--workers", str(workers)]
    urls = {
        "manager": f"http://{host}:{manager_port}",
        "expander": f"http://{host}:{expander_port}",
        "resourcifier": f"http://{host}:{resourcifier_port}",
    }
    resourcifier_flags: list[str] = ["--backend", backend]
    sim_kubeconfig = data_dir / "sim.kubeconfig"
    if cluster == "sim":
        urls["simulator"] = f"http://{host}:{sim_port}"
        resourcifier_flags += ["--kubeconfig", str(sim_kubeconfig)]
    elif cluster == "kube":
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
        _wait_for_backend(stack, urls["resourcifier"], backend, ready_timeout)
        auth = {"Authorization": f"Bearer {token}"} if token else None
        stack.wait_until_answering(manager, f"{urls['manager']}/readyz", auth)
        click.echo(_what_now(cluster, data_dir, urls, sim_kubeconfig, manager_port), nl=True)
        health = {
            child.name: f"{urls[child.name]}/healthz" for child in stack.children
        }
        _keep_running(stack, health)
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


def _keep_running(stack: Supervisor, health: dict[str, str]) -> None:
    """Restart what dies, saying so, until a stop signal; say when each one answers again."""
    back = {child.name: 0 for child in stack.children}
    while True:
        for line in stack.tend():
            click.echo(line, err=True)
        for child in stack.children:
            back[child.name] = min(back[child.name], child.restarts)
            if child.restarts > back[child.name] and answers(health[child.name]) is None:
                back[child.name] = child.restarts
                click.echo(f"{child.name} is back at {health[child.name]}", err=True)
        time.sleep(WATCH_INTERVAL)


def _what_now(
    cluster: str, data_dir: Path, urls: dict[str, str], sim_kubeconfig: Path, manager_port: int
) -> str:
    target = {
        "sim": "the Kubernetes API simulator",
        "kube": "kubectl's current context",
        "docker": "the Docker engine",
    }[cluster]
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
