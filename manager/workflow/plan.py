"""Planning: from a Template to checked resources and their dependency levels.

Nothing is stored or applied while planning, so every problem found here is a 400 that
leaves no trace.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from dmcommon.errors import BadRequest
from manager.labels import with_labels
from manager.models import Manifest, ManifestResource, Template, utc_now
from manager.references import DependencyGraph, build_graph
from manager.repository import new_manifest_name
from manager.workflow.services import Services

TEMPLATE_SUFFIXES = (".py", ".jinja", ".jinja2")


@dataclass
class Plan:
    """A checked expansion, ready to store as a manifest."""

    template: Template
    namespace: str
    resources: list[dict[str, Any]]
    layout: dict[str, Any]
    graph: DependencyGraph
    warnings: list[str] = field(default_factory=list)

    def manifest(self, deployment: str, revision: int) -> Manifest:
        """A new manifest of `deployment` for this plan, every resource not yet tried."""
        return Manifest(
            deployment=deployment,
            name=new_manifest_name(),
            created_at=utc_now(),
            input_config=self.template,
            resources=[
                ManifestResource(
                    name=item["name"],
                    type=str(item.get("type") or ""),
                    properties=with_labels(item["properties"], deployment),
                )
                for item in self.resources
            ],
            layout=self.layout,
            revision=revision,
            warnings=list(self.warnings),
            namespace=self.namespace,
            levels=self.graph.levels,
        )


def expand(services: Services, template: Template, namespace: str) -> dict[str, Any]:
    """The expander's answer for `template`, after fetching the types named by URL."""
    resolved = services.resolve_types(template)
    env = {"deployment": template.name, "project": namespace}
    return services.expander.expand(resolved.to_dict(), env)


def make_plan(services: Services, template: Template, namespace: str) -> Plan:
    """Resolve remote types, expand, and check the resources and their references."""
    result = expand(services, template, namespace)
    resources = result["config"].get("resources") or []
    if not isinstance(resources, list):
        raise BadRequest("the expanded configuration's 'resources' is not a list")
    imports = [item.name for item in template.imports]
    for resource in resources:
        check_primitive(resource, imports)
    graph = build_graph(resources)
    layout = result.get("layout") if isinstance(result.get("layout"), dict) else {}
    warnings = [str(item) for item in result.get("warnings") or []]
    return Plan(template, namespace, resources, layout, graph, warnings)


def check_primitive(resource: Any, imports: list[str] = ()) -> None:
    """An expanded resource must be a named Kubernetes object.

    A type that looks like a template file which no import supplies is named as such,
    with the closest import name, rather than as an object that lacks fields.
    """
    if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
        raise BadRequest(
            f"the expanded configuration holds a resource without a name: {resource!r}"[:300]
        )
    properties = resource.get("properties")
    kind = resource.get("type")
    if isinstance(kind, str) and kind.lower().endswith(TEMPLATE_SUFFIXES):
        close = difflib.get_close_matches(kind, imports, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise BadRequest(f"resource {resource['name']!r}: no import named {kind}{hint}")
    where = f"resource {resource['name']!r} (type {kind!r})"
    if not isinstance(properties, dict):
        raise BadRequest(f"{where} has no properties: a primitive's properties are its object")
    metadata = properties.get("metadata")
    missing = [key for key in ("apiVersion", "kind") if not isinstance(properties.get(key), str)]
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        missing.append("metadata.name")
    if missing:
        raise BadRequest(f"{where} is not a Kubernetes object: it lacks {', '.join(missing)}")
