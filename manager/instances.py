"""Type instances: where each type is used in a manifest's layout."""

from __future__ import annotations

from typing import Any

from manager.models import TypeInstance


def type_instances(deployment: str, manifest: str, layout: dict[str, Any]) -> list[TypeInstance]:
    """Every node of the layout tree (templates and primitives) as a TypeInstance.

    `path` is the node's JSON path in the layout, e.g. `$.resources[0].resources[1]`;
    nodes are listed depth first, in layout order.
    """
    found: list[TypeInstance] = []

    def walk(nodes: Any, prefix: str) -> None:
        if not isinstance(nodes, list):
            return
        for index, node in enumerate(nodes):
            if not isinstance(node, dict):
                continue
            path = f"{prefix}.resources[{index}]"
            found.append(
                TypeInstance(
                    name=str(node.get("name", "")),
                    type=str(node.get("type", "")),
                    deployment=deployment,
                    manifest=manifest,
                    path=path,
                )
            )
            walk(node.get("resources"), path)

    walk(layout.get("resources"), "$")
    return found
