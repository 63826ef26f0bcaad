"""The `dm up` command: its options. The work is in local_stack.py, imported only when
`dm up` runs, so that every other command starts without it."""

from __future__ import annotations

import os
from pathlib import Path

import click


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/dm`, i.e. `~/.local/share/dm` unless XDG_DATA_HOME says otherwise."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "dm"


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
@click.option(
    "--backend",
    type=click.Choice(["kubectl", "docker"]),
    default="kubectl",
    show_default=True,
    help="docker: run the resources on the Docker engine (DOCKER_HOST) instead of a cluster",
)
@click.option(
    "--ready-timeout",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="how long the resourcifier may take to reach the cluster or engine at start-up",
)
@click.pass_context
def up(ctx: click.Context, **options: object) -> None:
    """Run the manager, expander and resourcifier locally until Ctrl-C."""
    from dmcli.local_stack import run

    run(ctx, **options)
