"""`dm diff`, `dm preview show|apply|discard` and `dm drift`: see a change before it is
made, and see whether the cluster still holds what was applied.

`dm diff FILE` stores a preview of deploying (or, when the deployment exists, updating
to) FILE and prints its plan — one line per resource: create, update, delete or
unchanged — then the diffs, coloured on a terminal. Like `diff`, it exits 0 when nothing
would change, 1 when something would, and 2 on errors. `dm deploy|update|apply
--preview` do the same without the exit-code convention, and `dm preview apply NAME`
rolls the stored preview out exactly, following the operation like any change.
"""

from __future__ import annotations

import sys
from typing import Any

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
    template_from,
)

UNCHANGED = "unchanged"


def show_preview(ctx: Context, preview: dict[str, Any]) -> bool:
    """Print a Preview (plan and diffs); True when it would change something."""
    plan = preview.get("plan") or []
    output = ctx.format()
    if output in out.TABLES:
        if preview.get("runningOperation"):
            click.echo(
                f"note: operation {preview['runningOperation']} is still running; "
                "the preview shows the deployment as it is now",
                err=True,
            )
        click.echo(out.plan_table(plan, wide=output == "wide"))
        colour = sys.stdout.isatty()
        for line in plan:
            if line.get("diff"):
                click.echo("")
                click.echo(out.coloured_diff(line["diff"], colour), nl=False)
        changes = sum(1 for line in plan if line.get("action") != UNCHANGED)
        click.echo(f"\n{changes} of {len(plan)} resources would change")
    elif output == "name":
        for line in plan:
            if line.get("action") != UNCHANGED:
                click.echo(f"{line.get('action')} {line.get('kind')}/{line.get('name')}")
    else:
        click.echo(out.to_text(preview, output))
    return any(line.get("action") != UNCHANGED for line in plan)


def preview_template(ctx: Context, template: dict[str, Any]) -> dict[str, Any]:
    """Preview creating the Template's deployment, or updating it when it exists."""
    try:
        ctx.client.get_deployment(template["name"])
    except ManagerError as error:
        if error.status != 404:
            raise
        return ctx.client.preview(template, create=True)
    return ctx.client.preview(template, create=False)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", help="deployment name (default: the file's name without extensions)")
@namespace_option("target namespace (default: the deployment's, or the manager's)")
@properties_options
@output_option
@pass_context
def diff(
    ctx: Context,
    file: str,
    name: str | None,
    properties: tuple[str, ...],
    set_string: tuple[str, ...],
) -> None:
    """Show what deploying FILE would change; nothing changes. Exit 0 when nothing would
    change, 1 when something would, 2 on errors."""
    try:
        template = template_from(ctx, file, name, properties, set_string)
        changes = show_preview(ctx, preview_template(ctx, template))
    except (ManagerError, CliError) as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    sys.exit(1 if changes else 0)


@click.group()
def preview() -> None:
    """Show, apply or discard the stored preview of a deployment."""


@preview.command("show")
@click.argument("name")
@output_option
@pass_context
def show(ctx: Context, name: str) -> None:
    """Print the stored preview of deployment NAME."""
    show_preview(ctx, ctx.client.get_preview(name))


@preview.command("apply")
@click.argument("name")
@click.option(
    "--async", "run_async", is_flag=True, help="print the operation id and return at once"
)
@output_option
@pass_context
def apply_preview(ctx: Context, name: str, run_async: bool) -> None:
    """Roll out exactly the stored preview of NAME (refused when NAME changed since)."""
    from dmcli.changes import run_change

    run_change(ctx, ctx.client.apply_preview(name), run_async)


@preview.command("discard")
@click.argument("name")
@pass_context
def discard(ctx: Context, name: str) -> None:
    """Forget the stored preview of deployment NAME."""
    ctx.client.discard_preview(name)
    click.echo(f"preview of {name} discarded")


@click.command()
@click.argument("name")
@output_option
@pass_context
def drift(ctx: Context, name: str) -> None:
    """Compare NAME's live objects with what was applied: InSync, Modified or Missing."""
    report = ctx.client.drift(name)
    output = ctx.format()
    if output not in out.TABLES:
        ctx.show(report, out.drift_table)
        return
    click.echo(f"Sync: {report.get('sync')} (checked {report.get('checkedAt')})")
    click.echo(out.drift_table(report, wide=output == "wide"))
    colour = sys.stdout.isatty()
    for item in report.get("resources") or []:
        if item.get("diff"):
            click.echo("")
            click.echo(out.coloured_diff(item["diff"], colour), nl=False)


PREVIEWS = (diff, preview, drift)
