"""The `dm` commands that change a deployment, and `dm watch`.

Each change starts an operation on the manager and follows it (follow.py): one line
per step change as it happens (on stdout with the table formats, on stderr with
`-o yaml|json|name` so that stdout stays parseable), then the deployment as it ended.
The command exits 0 only when the operation Succeeded. `--async` prints the
operation's id (or, with `-o yaml|json`, the Operation) and returns at once.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from dmcli import output as out
from dmcli.client import ManagerError
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
from dmcli.follow import follow

SUCCEEDED = "Succeeded"


def _change_options(function):
    """--async, --wait/--no-wait, --timeout and --atomic: how the operation runs."""
    function = click.option(
        "--async", "run_async", is_flag=True, help="print the operation id and return at once"
    )(function)
    function = click.option(
        "--atomic",
        is_flag=True,
        default=None,
        help="roll back to the last good revision on failure",
    )(function)
    function = click.option(
        "--timeout", metavar="DURATION", help="the operation's deadline: seconds, or like 90s, 5m"
    )(function)
    return click.option(
        "--wait/--no-wait",
        default=None,
        help="wait until the resources are healthy (default: --wait)",
    )(function)


def _options(wait: bool | None, timeout: str | None, atomic: bool | None) -> dict[str, Any]:
    """The Template options given on the command line, and only those."""
    given = {"wait": wait, "timeout": timeout, "atomic": atomic}
    return {key: value for key, value in given.items() if value is not None}


def _file_command(function):
    """FILE, --name, -n, --properties/--set-string, the change options, --preview and -o."""
    function = pass_context(function)
    function = output_option(function)
    function = click.option(
        "--preview", "preview_only", is_flag=True, help="store and show the plan; change nothing"
    )(function)
    function = _change_options(function)
    function = properties_options(function)
    function = namespace_option("target namespace (default: the manager's)")(function)
    function = click.option(
        "--name", help="deployment name (default: the file's name without extensions)"
    )(function)
    return click.argument("file", type=click.Path(exists=True, dir_okay=False))(function)


def _template(ctx: Context, file: str, name: str | None, values: dict[str, Any]) -> dict[str, Any]:
    template = template_from(ctx, file, name, values.pop("properties"), values.pop("set_string"))
    options = _options(values.pop("wait"), values.pop("timeout"), values.pop("atomic"))
    if options:
        template["options"] = options
    return template


def _run(
    ctx: Context,
    operation: dict[str, Any],
    run_async: bool,
    show_end: Callable[[dict[str, Any]], None],
) -> None:
    """Follow `operation` (unless `run_async`), show how it ended, exit 1 unless it Succeeded."""
    if run_async:
        if ctx.format() in ("yaml", "json"):
            click.echo(out.to_text(operation, ctx.format()))
        else:
            click.echo(operation["id"])
        return
    ended = _follow(ctx, operation)
    show_end(ended)
    if ended.get("status") != SUCCEEDED:
        errors = "; ".join(ended.get("errors") or []) or "see the steps above"
        raise CliError(
            f"{ended.get('type')} of {ended.get('deployment')} {ended.get('status')}: {errors}"
        )


def run_change(ctx: Context, operation: dict[str, Any], run_async: bool) -> None:
    """Follow a change's operation and show the deployment as it ended."""
    _run(ctx, operation, run_async, _show_deployment_of(ctx))


def _preview(ctx: Context, template: dict[str, Any], create: bool) -> None:
    from dmcli.previews import show_preview

    show_preview(ctx, ctx.client.preview(template, create))


def _follow(ctx: Context, operation: dict[str, Any]) -> dict[str, Any]:
    """Print the operation's steps as they change until it ends; the ended Operation."""
    stream = sys.stdout if ctx.format() in out.TABLES else sys.stderr
    printer = out.StepPrinter(stream, operation, live=stream.isatty())
    stream.write(
        f"{operation.get('type')} {operation.get('deployment')}: operation {operation['id']}\n"
    )
    stream.flush()
    try:
        ended = follow(ctx.client, operation, printer.step)
    except KeyboardInterrupt:
        printer.close()
        click.echo(
            f"stopped following; the operation goes on: dm watch {operation['id']}", err=True
        )
        sys.exit(130)
    finally:
        printer.close()
    if stream is sys.stdout:
        stream.write("\n")
    return ended


def _show_deployment_of(ctx: Context) -> Callable[[dict[str, Any]], None]:
    def show(ended: dict[str, Any]) -> None:
        show_deployment(ctx, ctx.client.get_deployment(ended["deployment"]))

    return show


@click.command()
@_file_command
def deploy(ctx: Context, file: str, name: str | None, run_async: bool, **values: Any) -> None:
    """Deploy a configuration or a single template FILE as a new deployment."""
    preview_only = values.pop("preview_only")
    template = _template(ctx, file, name, values)
    if preview_only:
        _preview(ctx, template, create=True)
        return
    try:
        operation = ctx.client.create_deployment(template)
    except ManagerError as error:
        if error.status == 409:
            raise ManagerError(
                f"{error.message}\nto change it: dm apply {file} --name {template['name']}", 409
            ) from None
        raise
    _run(ctx, operation, run_async, _show_deployment_of(ctx))


@click.command()
@_file_command
def update(ctx: Context, file: str, name: str | None, run_async: bool, **values: Any) -> None:
    """Update a deployment (default: the one named after FILE) to the configuration in FILE."""
    preview_only = values.pop("preview_only")
    template = _template(ctx, file, name, values)
    if preview_only:
        _preview(ctx, template, create=False)
        return
    operation = ctx.client.update_deployment(template["name"], template)
    _run(ctx, operation, run_async, _show_deployment_of(ctx))


@click.command()
@_file_command
def apply(ctx: Context, file: str, name: str | None, run_async: bool, **values: Any) -> None:
    """Create the deployment of FILE, or update it when it exists."""
    preview_only = values.pop("preview_only")
    template = _template(ctx, file, name, values)
    if preview_only:
        from dmcli.previews import preview_template, show_preview

        show_preview(ctx, preview_template(ctx, template))
        return
    try:
        operation = ctx.client.update_deployment(template["name"], template)
    except ManagerError as error:
        if error.status != 404:
            raise
        operation = ctx.client.create_deployment(template)
    _run(ctx, operation, run_async, _show_deployment_of(ctx))


@click.command()
@click.argument("name")
@click.option(
    "--keep-resources", is_flag=True, help="forget the deployment but leave its objects running"
)
@click.option(
    "--async", "run_async", is_flag=True, help="print the operation id and return at once"
)
@output_option
@pass_context
def delete(ctx: Context, name: str, keep_resources: bool, run_async: bool) -> None:
    """Delete deployment NAME and, unless --keep-resources, its objects."""

    def show(ended: dict[str, Any]) -> None:
        if ctx.format() in ("yaml", "json"):
            click.echo(out.to_text(ended, ctx.format()))
        elif ended.get("status") != SUCCEEDED:
            return
        elif ctx.format() == "name":
            click.echo(name)
        elif keep_resources:
            click.echo(f"deployment {name} deleted; its resources were left in place")
        else:
            click.echo(f"deployment {name} deleted")

    _run(ctx, ctx.client.delete_deployment(name, keep_resources), run_async, show)


@click.command()
@click.argument("name")
@click.argument("revision", metavar="[REVISION|MANIFEST]", required=False)
@_change_options
@output_option
@pass_context
def rollback(
    ctx: Context,
    name: str,
    revision: str | None,
    run_async: bool,
    wait: bool | None,
    timeout: str | None,
    atomic: bool | None,
) -> None:
    """Deploy an earlier revision of NAME again (default: the previous successful one)."""
    if revision is None:
        target: dict[str, Any] = {}
    elif revision.isdigit():
        target = {"revision": int(revision)}
    else:
        target = {"manifest": revision}
    operation = ctx.client.rollback(name, target, _options(wait, timeout, atomic))
    _run(ctx, operation, run_async, _show_deployment_of(ctx))


@click.command()
@click.argument("name")
@_change_options
@output_option
@pass_context
def sync(
    ctx: Context,
    name: str,
    run_async: bool,
    wait: bool | None,
    timeout: str | None,
    atomic: bool | None,
) -> None:
    """Apply every resource of NAME's current manifest again, repairing drift."""
    operation = ctx.client.sync(name, _options(wait, timeout, atomic))
    _run(ctx, operation, run_async, _show_deployment_of(ctx))


@click.command()
@click.argument("operation_id", metavar="OPERATION")
@output_option
@pass_context
def watch(ctx: Context, operation_id: str) -> None:
    """Follow OPERATION until it ends, then show it; exit 1 unless it Succeeded."""

    def show(ended: dict[str, Any]) -> None:
        ctx.show(ended, out.operation_view)

    _run(ctx, ctx.client.get_operation(operation_id), False, show)


CHANGES = (deploy, update, apply, delete, rollback, sync, watch)
