"""`dm`: the command-line client of the manager API (docs/cli.md).

Every command but `up` and `version` talks to the manager at `--service` (or
`DM_SERVICE`). The output format is `-o table|wide|yaml|json|name`; `table` is the
default except for `expand` and `manifest`, whose natural form is the YAML document
itself. A failure prints one `Error: ...` line on stderr and exits 1; usage errors
exit 2. The commands that change a deployment are in changes.py.

`dm` must start fast (`dm --help` within 2x of `helm version`): modules that cost
import time (YAML, HTTP, bundling) are imported inside the commands that need them.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import click

from dmcli import output as out
from dmcli.changes import CHANGES
from dmcli.client import ManagerError, check_service_url
from dmcli.context import (
    CliError,
    Context,
    namespace_option,
    output_option,
    pass_context,
    properties_options,
    show_deployment,
    template_from,
)
from dmcli.previews import PREVIEWS
from dmcli.up import up

DEFAULT_SERVICE = "http://localhost:8080"


def _help_width() -> int:
    """The width click's help would choose, found without click importing shutil (and
    with it bz2, lzma and zlib) on every `dm --help`."""
    try:
        columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size().columns
    except (ValueError, OSError):
        columns = 80
    return max(min(columns, 80) - 2, 50)


class _Group(click.Group):
    """Turns the CLI's own exceptions into one clear line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ManagerError, CliError) as error:
            raise click.ClickException(str(error)) from None


def _service_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return check_service_url(value)
    except ValueError as error:
        source = ctx.get_parameter_source(param.name)
        given = "DM_SERVICE" if source == click.core.ParameterSource.ENVIRONMENT else "--service"
        raise click.UsageError(f"{given}: {error}", ctx) from None


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_text())
        ctx.exit()


def version_text() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("deployment-manager")
    except PackageNotFoundError:
        number = "unknown (not installed)"
    return f"dm version {number}"


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "terminal_width": _help_width()},
)
@click.option(
    "--service",
    envvar="DM_SERVICE",
    default=DEFAULT_SERVICE,
    show_default=True,
    callback=_service_url,
    help="manager URL [env DM_SERVICE]",
)
@click.option("--token", envvar="DM_API_TOKEN", help="bearer token for the API [env DM_API_TOKEN]")
@click.option(
    "-o", "--output", type=click.Choice(out.FORMATS), help="output format (default: table)"
)
@click.option("-n", "--namespace", help="target namespace of deploy/update/apply; filter of list")
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="print the version and exit",
)
@click.pass_context
def main(
    ctx: click.Context, service: str, token: str | None, output: str | None, namespace: str | None
) -> None:
    """Deploy, update, roll back and delete applications with Deployment Manager."""
    ctx.obj = Context(service, token)
    ctx.obj.output = output
    ctx.obj.namespace = namespace


@main.command()
def version() -> None:
    """Print the version of dm."""
    click.echo(version_text())


@main.command("list")
@namespace_option("only deployments in this namespace")
@output_option
@pass_context
def list_deployments(ctx: Context) -> None:
    """List the deployments."""
    deployments = ctx.client.list_deployments()
    if ctx.namespace:
        deployments = [item for item in deployments if item.get("namespace") == ctx.namespace]
    ctx.show(deployments, out.deployments_table)


@main.command()
@click.argument("name")
@output_option
@pass_context
def get(ctx: Context, name: str) -> None:
    """Show deployment NAME: status, health, sync, and each resource's state and health."""
    show_deployment(ctx, ctx.client.get_deployment(name))


@main.command()
@click.argument("name")
@output_option
@pass_context
def history(ctx: Context, name: str) -> None:
    """List the revisions of deployment NAME, oldest first, with their operation's status."""
    ctx.show(ctx.client.list_manifests(name), out.history_table)


@main.command()
@click.argument("name")
@click.argument("revision", metavar="[REVISION|MANIFEST]", required=False)
@output_option
@pass_context
def manifest(ctx: Context, name: str, revision: str | None) -> None:
    """Show a manifest of deployment NAME (default: the latest); YAML unless -o says otherwise."""
    if revision is None:
        revision = ctx.client.get_deployment(name).get("latestManifest")
        if not revision:
            raise CliError(f"deployment {name} has no manifest")
    ctx.show(ctx.client.get_manifest(name, revision), out.manifest_view, "yaml")


@main.command()
@click.argument("name", required=False)
@output_option
@pass_context
def operations(ctx: Context, name: str | None) -> None:
    """List the operations of deployment NAME (of every deployment without NAME), newest first."""
    if name is not None:
        found = ctx.client.list_operations(name)
    else:
        found = []
        for deployment in ctx.client.list_deployments():
            found += ctx.client.list_operations(deployment["name"])
        found.sort(key=lambda item: item.get("createdAt") or "", reverse=True)
    ctx.show(found, out.operations_table)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="deployment name templates see as env.deployment")
@namespace_option("namespace templates see as env.project")
@properties_options
@output_option
@pass_context
def expand(
    ctx: Context,
    file: str,
    name: str | None,
    properties: tuple[str, ...],
    set_string: tuple[str, ...],
) -> None:
    """Expand FILE without deploying it; YAML unless -o says otherwise."""
    template = template_from(ctx, file, name, properties, set_string)
    ctx.show(ctx.client.expand(template), out.expansion_table, "yaml")


@main.command()
@output_option
@pass_context
def types(ctx: Context) -> None:
    """List the types used by current deployments."""
    ctx.show(ctx.client.list_types(), partial(out.names_table, "TYPE"))


@main.command()
@click.argument("type_name", metavar="TYPE")
@output_option
@pass_context
def instances(ctx: Context, type_name: str) -> None:
    """List where TYPE is used (`all` for every type)."""
    ctx.show(ctx.client.list_instances(type_name), out.instances_table)


for command in (*CHANGES, *PREVIEWS, up):
    main.add_command(command)
