"""What the `dm` commands share: the context object, the -o and -n options, printing a
deployment, and turning FILE into a Template."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import click

from dmcli import output as out
from dmcli.client import ManagerClient


class CliError(Exception):
    """Something local the user must fix (a file, a flag); the message says what.

    The commands print it as one `Error:` line and exit 1."""


class Context:
    """What every command needs: the client, the output format and the namespace."""

    def __init__(self, service: str, token: str | None):
        self.service = service
        self.token = token
        self.output: str | None = None
        self.namespace: str | None = None
        self._client: ManagerClient | None = None

    @property
    def client(self) -> ManagerClient:
        if self._client is None:
            self._client = ManagerClient(self.service, self.token)
        return self._client

    def format(self, default: str = "table") -> str:
        return self.output or default

    def show(self, data: Any, as_table: Callable[..., str], default: str = "table") -> None:
        """Print `data` as a table (`wide`: with more columns), names, YAML or JSON."""
        output = self.format(default)
        if output in out.TABLES:
            click.echo(as_table(data, wide=output == "wide"))
        elif output == "name":
            for name in out.names_of(data):
                click.echo(name)
        else:
            click.echo(out.to_text(data, output))


pass_context = click.make_pass_decorator(Context)


def _remember(attribute: str):
    """A callback storing an option given after the command (`dm get x -o json`)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            setattr(ctx.find_object(Context), attribute, value)

    return callback


def output_option(function):
    """`-o` after the command too, overriding the one before it."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(out.FORMATS),
        expose_value=False,
        callback=_remember("output"),
        help="output format",
    )(function)


def namespace_option(help_text: str):
    """`-n` after the command too, overriding the one before it."""

    def decorate(function):
        return click.option(
            "-n",
            "--namespace",
            expose_value=False,
            callback=_remember("namespace"),
            help=help_text,
        )(function)

    return decorate


def show_deployment(ctx: Context, deployment: dict[str, Any]) -> None:
    """Print a deployment with the state and health of each of its resources."""
    manifest = None
    if deployment.get("latestManifest"):
        manifest = ctx.client.get_manifest(deployment["name"], deployment["latestManifest"])
    output = ctx.format()
    if output in out.TABLES:
        click.echo(out.deployment_view(deployment, manifest, wide=output == "wide"))
    elif output == "name":
        click.echo(deployment.get("name"))
    else:
        click.echo(out.to_text({**deployment, "resources": out.resource_rows(manifest)}, output))


def template_from(
    ctx: Context,
    file: str,
    name: str | None,
    properties: tuple[str, ...],
    set_string: tuple[str, ...],
) -> dict[str, Any]:
    """The Template bundled from FILE, with --properties (typed) and --set-string values."""
    from dmcli.bundle import load_template, parse_properties

    values = {**parse_properties(properties), **parse_properties(set_string, typed=False)}
    return load_template(Path(file), name, ctx.namespace, values)


def properties_options(function):
    """--properties and --set-string of the commands that send a FILE."""
    function = click.option(
        "--set-string",
        multiple=True,
        metavar="K=V,...",
        help="properties of a single template, kept as strings",
    )(function)
    return click.option(
        "--properties",
        "-p",
        multiple=True,
        metavar="K=V,...",
        help="properties of a single template, typed (true, 2, 0.5; see docs/cli.md)",
    )(function)
