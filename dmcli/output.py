"""How the CLI prints answers: readable tables (`table`, `wide`), YAML, JSON, names; and
the progress of an operation as it runs."""

from __future__ import annotations

from typing import IO, Any, Iterable, Sequence

FORMATS = ("table", "wide", "yaml", "json", "name")
TABLES = ("table", "wide")


def to_text(data: Any, output: str) -> str:
    """`data` as YAML or JSON text, keys in the order the server sent them."""
    if output == "json":
        import json

        return json.dumps(data, indent=2)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False).rstrip("\n")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart, like kubectl's; `-` for empty cells."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(value)) for width, value in zip(widths, row)]
    lines = [headers, *cells]
    return "\n".join(
        "  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip()
        for line in lines
    )


def _short(errors: list[str], limit: int = 60) -> str:
    """Errors cut to fit a table cell; the full text is in the fields above and in -o yaml."""
    text = " ".join("; ".join(errors).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _cell(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return " ".join(str(value).split())


def _health(item: dict[str, Any] | None) -> str | None:
    return (item or {}).get("status")


def resource_rows(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each expanded resource of `manifest` as {name, type, status, health, errors}."""
    if not manifest:
        return []
    rows = []
    for resource in (manifest.get("expandedConfig") or {}).get("resources") or []:
        state = resource.get("state") or {}
        rows.append(
            {
                "name": resource.get("name"),
                "type": resource.get("type"),
                "status": state.get("status"),
                "health": state.get("health"),
                "errors": state.get("errors") or [],
            }
        )
    return rows


def deployment_view(
    deployment: dict[str, Any], manifest: dict[str, Any] | None, wide: bool = False
) -> str:
    """A deployment's fields, then a table of its resources' states and health."""
    state = deployment.get("state") or {}
    health = deployment.get("health") or {}
    fields = [
        ("Name", deployment.get("name")),
        ("Namespace", deployment.get("namespace")),
        ("Status", state.get("status")),
        ("Health", health.get("status")),
        ("Sync", deployment.get("sync")),
        ("Revision", deployment.get("revision")),
        ("Manifest", deployment.get("latestManifest")),
        ("Operation", deployment.get("operation")),
        ("Created", deployment.get("createdAt")),
        ("Deployed", deployment.get("deployedAt")),
        ("Modified", deployment.get("modifiedAt")),
    ]
    lines = [f"{label + ':':<11}{_cell(value)}" for label, value in fields]
    for error in state.get("errors") or []:
        lines.append(f"{'Error:':<11}{error}")
    rows = resource_rows(manifest)
    if rows:
        lines.append("")
        lines.append(resources_table(rows, wide))
    return "\n".join(lines)


def resources_table(rows: list[dict[str, Any]], wide: bool = False) -> str:
    """Resources with their state and health; `wide` keeps whole errors and health messages."""
    if wide:
        return table(
            ["RESOURCE", "TYPE", "STATUS", "HEALTH", "MESSAGE", "ERRORS"],
            [
                (
                    row["name"],
                    row["type"],
                    row["status"],
                    _health(row["health"]),
                    (row["health"] or {}).get("message"),
                    row["errors"],
                )
                for row in rows
            ],
        )
    return table(
        ["RESOURCE", "TYPE", "STATUS", "HEALTH", "ERRORS"],
        [
            (row["name"], row["type"], row["status"], _health(row["health"]), _short(row["errors"]))
            for row in rows
        ],
    )


def deployments_table(deployments: list[dict[str, Any]], wide: bool = False) -> str:
    headers = ["NAME", "NAMESPACE", "STATUS", "HEALTH", "REVISION", "MODIFIED"]
    if wide:
        headers += ["SYNC", "OPERATION", "MANIFEST"]
    rows = []
    for item in deployments:
        row = [
            item.get("name"),
            item.get("namespace"),
            (item.get("state") or {}).get("status"),
            _health(item.get("health")),
            item.get("revision"),
            item.get("modifiedAt"),
        ]
        if wide:
            row += [item.get("sync"), item.get("operation"), item.get("latestManifest")]
        rows.append(row)
    return table(headers, rows)


def history_table(manifests: list[dict[str, Any]], wide: bool = False) -> str:
    """A deployment's revisions, oldest first, with the status of the operation that made each."""
    headers = ["REVISION", "CREATED", "STATUS", "OPERATION"] + (["MANIFEST"] if wide else [])
    rows = []
    for item in manifests:
        row = [
            item.get("revision"),
            item.get("createdAt"),
            item.get("status"),
            item.get("operation"),
        ]
        rows.append(row + ([item.get("name")] if wide else []))
    return table(headers, rows)


def operations_table(operations: list[dict[str, Any]], wide: bool = False) -> str:
    headers = ["ID", "DEPLOYMENT", "TYPE", "STATUS", "PROGRESS", "CREATED"]
    if wide:
        headers += ["ENDED", "MANIFEST", "ERRORS"]
    rows = []
    for item in operations:
        row = [
            item.get("id"),
            item.get("deployment"),
            item.get("type"),
            item.get("status"),
            progress_text(item),
            item.get("createdAt"),
        ]
        if wide:
            row += [item.get("endedAt"), item.get("manifest"), item.get("errors")]
        rows.append(row)
    return table(headers, rows)


def progress_text(operation: dict[str, Any]) -> str:
    progress = operation.get("progress") or {}
    return f"{progress.get('done', 0)}/{progress.get('total', 0)}"


def operation_view(operation: dict[str, Any], wide: bool = False) -> str:
    """An operation's fields, then a table of its steps."""
    fields = [
        ("Operation", operation.get("id")),
        ("Deployment", operation.get("deployment")),
        ("Type", operation.get("type")),
        ("Status", operation.get("status")),
        ("Progress", progress_text(operation)),
        ("Manifest", operation.get("manifest")),
        ("Created", operation.get("createdAt")),
        ("Started", operation.get("startedAt")),
        ("Ended", operation.get("endedAt")),
    ]
    lines = [f"{label + ':':<12}{_cell(value)}" for label, value in fields]
    lines += [f"{'Error:':<12}{error}" for error in operation.get("errors") or []]
    steps = operation.get("steps") or []
    if steps:
        headers = ["RESOURCE", "ACTION", "STATUS", "MESSAGE"] + (
            ["STARTED", "ENDED"] if wide else []
        )
        rows = []
        for step in steps:
            row = [step.get("resource"), step.get("action"), step.get("status")]
            row.append(step.get("message") if wide else _short([step.get("message") or ""]))
            rows.append(row + ([step.get("startedAt"), step.get("endedAt")] if wide else []))
        lines += ["", table(headers, rows)]
    return "\n".join(lines)


def manifest_view(manifest: dict[str, Any], wide: bool = False) -> str:
    """A manifest's name, revision and date, then a table of its resources' states."""
    lines = [
        f"{'Deployment:':<12}{manifest.get('deployment')}",
        f"{'Manifest:':<12}{manifest.get('name')}",
        f"{'Revision:':<12}{manifest.get('revision')}",
        f"{'Created:':<12}{manifest.get('createdAt')}",
        "",
        resources_table(resource_rows(manifest), wide),
    ]
    return "\n".join(lines)


def expansion_table(expansion: dict[str, Any], wide: bool = False) -> str:
    """The primitives an expansion yields, with the namespace and name they will get."""
    rows = []
    for resource in (expansion.get("config") or {}).get("resources") or []:
        properties = resource.get("properties") or {}
        metadata = properties.get("metadata") or {}
        rows.append((resource.get("name"), resource.get("type"), metadata.get("name")))
    return table(["RESOURCE", "TYPE", "OBJECT NAME"], rows)


def instances_table(instances: list[dict[str, Any]], wide: bool = False) -> str:
    return table(
        ["NAME", "TYPE", "DEPLOYMENT", "MANIFEST", "PATH"],
        [
            (
                item.get("name"),
                item.get("type"),
                item.get("deployment"),
                item.get("manifest"),
                item.get("path"),
            )
            for item in instances
        ],
    )


def names_table(header: str, names: list[str], wide: bool = False) -> str:
    return table([header], [(name,) for name in names])


def names_of(data: Any) -> list[str]:
    """What `-o name` prints: names, ids or values, one a line."""
    items = data if isinstance(data, list) else [data]
    found = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("id") or item.get("name")
        if item is not None:
            found.append(str(item))
    return found


class StepPrinter:
    """Prints one line per change of a step (`RESOURCE  ACTION  STATUS  message`).

    On a terminal (`live`) a last line shows the operation's progress and is redrawn in
    place; elsewhere only the step lines are written, so logs and pipes stay plain.
    """

    def __init__(self, stream: IO[str], operation: dict[str, Any], live: bool = False):
        self.stream = stream
        self.live = live
        self.steps = {index: step for index, step in enumerate(operation.get("steps") or [])}
        self.width = max((len(step.get("resource", "")) for step in self.steps.values()), default=0)
        self.footer = False

    def step(self, index: int, step: dict[str, Any]) -> None:
        self.steps[index] = step
        if step.get("status") != "Pending":
            resource = step.get("resource", "")
            self.width = max(self.width, len(resource))
            line = f"{resource:<{self.width}}  {step.get('action', ''):<6}  {step.get('status')}"
            message = " ".join((step.get("message") or "").split())
            self._write((line + f"  {message}" if message else line).rstrip())
        self._draw_footer()

    def _write(self, line: str) -> None:
        if self.footer:
            self.stream.write("\r\033[K")
            self.footer = False
        self.stream.write(line + "\n")
        self.stream.flush()

    def _draw_footer(self) -> None:
        if not self.live:
            return
        done = sum(
            1 for step in self.steps.values() if step.get("status") not in ("Pending", "Running")
        )
        running = [
            step.get("resource") for step in self.steps.values() if step.get("status") == "Running"
        ]
        text = f"[{done}/{len(self.steps)}]" + (f" {', '.join(running)}" if running else "")
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self.footer = True

    def close(self) -> None:
        """Clear the progress line, leaving only the step lines."""
        if self.footer:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.footer = False


def plan_table(plan: list[dict[str, Any]], wide: bool = False) -> str:
    """A preview's plan, one line per resource: what would happen to it."""
    headers = ["RESOURCE", "KIND", "NAME", "ACTION"]
    if wide:
        headers.insert(2, "NAMESPACE")
    rows = []
    for line in plan:
        row = [line.get("resource"), line.get("kind"), line.get("name"), line.get("action")]
        if wide:
            row.insert(2, line.get("namespace"))
        rows.append(row)
    return table(headers, rows)


def coloured_diff(diff: str, colour: bool) -> str:
    """A unified diff, its added lines green and removed lines red when `colour`."""
    if not colour:
        return diff
    import click

    styles = {"+": "green", "-": "red", "@": "cyan"}
    lines = []
    for line in diff.splitlines():
        fg = None if line.startswith(("+++", "---")) else styles.get(line[:1])
        lines.append(click.style(line, fg=fg) if fg else line)
    return "\n".join(lines) + "\n"


def drift_table(drift: dict[str, Any], wide: bool = False) -> str:
    rows = [
        [item.get("resource"), item.get("status"), _health(item.get("health"))]
        for item in drift.get("resources") or []
    ]
    return table(["RESOURCE", "SYNC", "HEALTH"], rows)
