"""How the CLI prints answers: YAML, JSON, or readable tables."""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import yaml

FORMATS = ("table", "yaml", "json")


def to_text(data: Any, output: str) -> str:
    """`data` as YAML or JSON text, keys in the order the server sent them."""
    if output == "json":
        return json.dumps(data, indent=2)
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


def resource_rows(manifest: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each expanded resource of `manifest` as {name, type, status, errors}."""
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
                "errors": state.get("errors") or [],
            }
        )
    return rows


def deployment_view(deployment: dict[str, Any], manifest: dict[str, Any] | None) -> str:
    """A deployment's fields, then a table of its resources' states."""
    state = deployment.get("state") or {}
    fields = [
        ("Name", deployment.get("name")),
        ("Namespace", deployment.get("namespace")),
        ("Status", state.get("status")),
        ("Manifest", deployment.get("latestManifest")),
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
        lines.append(
            table(
                ["RESOURCE", "TYPE", "STATUS", "ERRORS"],
                [(row["name"], row["type"], row["status"], _short(row["errors"])) for row in rows],
            )
        )
    return "\n".join(lines)


def deployments_table(deployments: list[dict[str, Any]]) -> str:
    return table(
        ["NAME", "NAMESPACE", "STATUS", "MANIFEST", "MODIFIED"],
        [
            (
                item.get("name"),
                item.get("namespace"),
                (item.get("state") or {}).get("status"),
                item.get("latestManifest"),
                item.get("modifiedAt"),
            )
            for item in deployments
        ],
    )


def manifest_view(manifest: dict[str, Any]) -> str:
    """A manifest's name and date, then a table of its resources' states."""
    lines = [
        f"{'Deployment:':<12}{manifest.get('deployment')}",
        f"{'Manifest:':<12}{manifest.get('name')}",
        f"{'Created:':<12}{manifest.get('createdAt')}",
        "",
        table(
            ["RESOURCE", "TYPE", "STATUS", "ERRORS"],
            [
                (row["name"], row["type"], row["status"], row["errors"])
                for row in resource_rows(manifest)
            ],
        ),
    ]
    return "\n".join(lines)


def expansion_table(expansion: dict[str, Any]) -> str:
    """The primitives an expansion yields, with the namespace and name they will get."""
    rows = []
    for resource in (expansion.get("config") or {}).get("resources") or []:
        properties = resource.get("properties") or {}
        metadata = properties.get("metadata") or {}
        rows.append((resource.get("name"), resource.get("type"), metadata.get("name")))
    return table(["RESOURCE", "TYPE", "OBJECT NAME"], rows)


def instances_table(instances: list[dict[str, Any]]) -> str:
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


def names_table(header: str, names: list[str]) -> str:
    return table([header], [(name,) for name in names])
