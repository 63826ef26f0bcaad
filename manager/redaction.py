"""The manager's answers with secret values hidden (DESIGN §7, rules in dmcommon.redact).

Manifests and expansions keep the values they apply; these functions render them for
the wire: Secret objects show markers for their `data`/`stringData`, layout nodes show
markers for the properties their schema marks sensitive (the expander lists them in
the node's `sensitive`), and every other string (the configuration's YAML, imports,
other resources, errors, warnings) is scrubbed of those values.
"""

from __future__ import annotations

from typing import Any

from dmcommon.redact import Redactor, leaf_texts, replace_at, secret_values, values_at
from manager.models import Manifest


def manifest_answer(manifest: Manifest) -> dict[str, Any]:
    """`manifest.to_dict()` as shown to API users."""
    data = manifest.to_dict()
    resources = data["expandedConfig"]["resources"]
    hide = _redactor(resources, data["layout"])
    return {
        **hide.data(data),
        "expandedConfig": {"resources": [_resource(hide, item) for item in resources]},
        "layout": hide.data(_layout(data["layout"])),
    }


def expansion_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """An expansion `{config, layout, warnings}` as shown to API users."""
    resources = answer["config"]["resources"]
    hide = _redactor(resources, answer["layout"])
    return {
        **hide.data(answer),
        "config": {"resources": [_resource(hide, item) for item in resources]},
        "layout": hide.data(_layout(answer["layout"])),
    }


def redactor_of(manifest: Manifest) -> Redactor:
    """Hides the secret values of `manifest` (kept apart from errors the cluster quotes)."""
    return _redactor([item.to_wire() for item in manifest.resources], manifest.layout)


def _redactor(resources: list[dict[str, Any]], layout: Any) -> Redactor:
    values = set().union(*(secret_values(item.get("properties")) for item in resources))
    for node in _nodes(layout):
        for value in values_at(node.get("properties"), node.get("sensitive") or []):
            values |= leaf_texts(value)
    return Redactor(values)


def _resource(hide: Redactor, resource: dict[str, Any]) -> dict[str, Any]:
    return {**hide.data(resource), "properties": hide.object(resource.get("properties"))}


def _nodes(layout: Any):
    """Every node of a layout tree (`{resources: [node...]}`), depth first."""
    children = layout.get("resources") if isinstance(layout, dict) else None
    for node in children if isinstance(children, list) else ():
        if isinstance(node, dict):
            yield node
            yield from _nodes(node)


def _layout(layout: Any) -> Any:
    """The layout with each node's sensitive properties replaced by markers."""
    if not isinstance(layout, dict) or not isinstance(layout.get("resources"), list):
        return layout
    nodes = []
    for node in layout["resources"]:
        if isinstance(node, dict):
            node = _layout(node)
            if node.get("sensitive"):
                node = {**node, "properties": replace_at(node.get("properties"), node["sensitive"])}
        nodes.append(node)
    return {**layout, "resources": nodes}
