"""`dm`: the command-line client of the manager API (docs/cli.md).

Every command but `up` talks to the manager at `--service` (or `DM_SERVICE`). The
output format is `-o table|yaml|json`; `table` is the default except for `expand` and
`manifest`, whose natural form is the YAML document itself. A failure prints the
server's message on stderr and exits 1; so do deploy, update and rollback
when they leave the deployment `Failed`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Callable

import click

from dmcli import output as out
from dmcli.bundle import BundleError, load_template, parse_properties
from dmcli.client import ManagerClient, ManagerError
from dmcli.up import up

DEFAULT_SERVICE = "http://localhost:8080"


class _Context:
    """What every command needs: the client and the chosen output format."""

    def __init__(self, service: str, token: str | None, output: str | None):
        self.client = ManagerClient(service, token)
        self.output = output

    def format(self, default: str = "table") -> str:
        return self.output or default

    def show(self, data: Any, as_table: Callable[[Any], str], default: str = "table") -> None:
        """Print `data` through `as_table` when the format is table, else as YAML or JSON."""
        output = self.format(default)
        click.echo(as_table(data) if output == "table" else out.to_text(data, output))


pass_context = click.make_pass_decorator(_Context)


class _Group(click.Group):
    """Turns the CLI's own exceptions into one clear line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ManagerError, BundleError) as error:
            raise click.ClickException(str(error)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--service",
    envvar="DM_SERVICE",
    default=DEFAULT_SERVICE,
    show_default=True,
    help="manager URL [env DM_SERVICE]",
)
@click.option("--token", envvar="DM_API_TOKEN", help="bearer token for the API [env DM_API_TOKEN]")
@click.option(
    "-o", "--output", type=click.Choice(out.FORMATS), help="output format (default: table)"
)
@click.pass_context
def main(ctx: click.Context, service: str, token: str | None, output: str | None) -> None:
    """Deploy, update, roll back and delete applications with Deployment Manager."""
    ctx.obj = _Context(service, token, output)


def _output_option(function):
    """`-o` after the command too (`dm get x -o json`), overriding the one before it."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.find_object(_Context).output = value

    return click.option(
        "-o",
        "--output",
        type=click.Choice(out.FORMATS),
        expose_value=False,
        callback=remember,
        help="output format",
    )(function)


def _file_argument(function):
    return click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))(
        function
    )


def _template_options(namespace_help: str):
    """--namespace, --properties and -o of the commands that send a FILE, then the context."""

    def decorate(function):
        function = pass_context(function)
        function = _output_option(function)
        function = click.option(
            "--properties",
            "-p",
            help="k=v,k2=v2: properties of a single template (ints, floats, true/false typed)",
        )(function)
        return click.option("--namespace", help=namespace_help)(function)

    return decorate


def _show_deployment(
    ctx: _Context, deployment: dict[str, Any], exit_on_failed: bool = True
) -> None:
    """Print a deployment with its resources' states; exit 1 when it is Failed, if told to."""
    manifest = None
    if deployment.get("latestManifest"):
        manifest = ctx.client.get_manifest(deployment["name"], deployment["latestManifest"])
    output = ctx.format()
    if output == "table":
        click.echo(out.deployment_view(deployment, manifest))
    else:
        click.echo(out.to_text({**deployment, "resources": out.resource_rows(manifest)}, output))
    if exit_on_failed and (deployment.get("state") or {}).get("status") == "Failed":
        raise SystemExit(1)


@main.command()
@_file_argument
@click.option("--name", help="deployment name (default: the file's name without extensions)")
@_template_options("target namespace (default: the manager's)")
def deploy(
    ctx: _Context, file: Path, name: str | None, namespace: str | None, properties: str | None
) -> None:
    """Deploy a configuration or a single template FILE as a new deployment."""
    template = load_template(file, name, namespace, parse_properties(properties))
    try:
        deployment = ctx.client.create_deployment(template)
    except ManagerError as error:
        if error.status == 409:
            raise ManagerError(
                f"{error.message}\nto change it: dm update {file} --name {template['name']}", 409
            ) from None
        raise
    _show_deployment(ctx, deployment)


@main.command()
@_file_argument
@click.option("--name", required=True, help="the deployment to update")
@_template_options("target namespace (default: the manager's)")
def update(
    ctx: _Context, file: Path, name: str, namespace: str | None, properties: str | None
) -> None:
    """Update deployment NAME to the configuration in FILE (a new manifest)."""
    template = load_template(file, name, namespace, parse_properties(properties))
    _show_deployment(ctx, ctx.client.update_deployment(name, template))


@main.command()
@click.argument("name")
@click.option(
    "--keep-resources", is_flag=True, help="forget the deployment but leave its objects running"
)
@_output_option
@pass_context
def delete(ctx: _Context, name: str, keep_resources: bool) -> None:
    """Delete deployment NAME and, unless --keep-resources, its objects."""
    deployment = ctx.client.delete_deployment(name, keep_resources)
    output = ctx.format()
    if output != "table":
        click.echo(out.to_text(deployment, output))
    elif keep_resources:
        click.echo(f"deployment {name} deleted; its resources were left in place")
    else:
        click.echo(f"deployment {name} deleted")


@main.command("list")
@_output_option
@pass_context
def list_deployments(ctx: _Context) -> None:
    """List the deployments."""
    ctx.show(ctx.client.list_deployments(), out.deployments_table)


@main.command()
@click.argument("name")
@_output_option
@pass_context
def get(ctx: _Context, name: str) -> None:
    """Show deployment NAME and the state of each of its resources."""
    # Showing a failed deployment is a success of `get`; deploy, update and rollback
    # exit 1 when their own operation failed.
    _show_deployment(ctx, ctx.client.get_deployment(name), exit_on_failed=False)


@main.command()
@click.argument("name")
@_output_option
@pass_context
def manifests(ctx: _Context, name: str) -> None:
    """List the manifests of deployment NAME, oldest first."""
    ctx.show(ctx.client.list_manifests(name), partial(out.names_table, "MANIFEST"))


@main.command()
@click.argument("name")
@click.argument("manifest", required=False)
@_output_option
@pass_context
def manifest(ctx: _Context, name: str, manifest: str | None) -> None:
    """Show MANIFEST of deployment NAME (default: the latest); YAML unless -o says otherwise."""
    if manifest is None:
        manifest = ctx.client.get_deployment(name).get("latestManifest")
        if not manifest:
            raise click.ClickException(f"deployment {name} has no manifest")
    ctx.show(ctx.client.get_manifest(name, manifest), out.manifest_view, "yaml")


@main.command()
@_file_argument
@click.option("--name", help="deployment name templates see as env.deployment")
@_template_options("namespace templates see as env.project")
def expand(
    ctx: _Context, file: Path, name: str | None, namespace: str | None, properties: str | None
) -> None:
    """Expand FILE without deploying it; YAML unless -o says otherwise."""
    template = load_template(file, name, namespace, parse_properties(properties))
    ctx.show(ctx.client.expand(template), out.expansion_table, "yaml")


@main.command()
@click.argument("name")
@click.argument("manifest")
@_output_option
@pass_context
def rollback(ctx: _Context, name: str, manifest: str) -> None:
    """Re-deploy MANIFEST's configuration as deployment NAME's newest manifest."""
    _show_deployment(ctx, ctx.client.rollback(name, manifest))


@main.command()
@_output_option
@pass_context
def types(ctx: _Context) -> None:
    """List the types used by current deployments."""
    ctx.show(ctx.client.list_types(), partial(out.names_table, "TYPE"))


@main.command()
@click.argument("type_name", metavar="TYPE")
@_output_option
@pass_context
def instances(ctx: _Context, type_name: str) -> None:
    """List where TYPE is used (`all` for every type)."""
    ctx.show(ctx.client.list_instances(type_name), out.instances_table)


main.add_command(up)
