"""Expand: show what a Template becomes, without deploying anything."""

from __future__ import annotations

from typing import Any

from dmcommon.errors import BadRequest
from manager.models import Template
from manager.references import build_graph
from manager.workflow.action import Action
from manager.workflow.plan import check_primitive, expand


class Expand(Action):
    def run_now(self, template: Template) -> dict[str, Any]:
        """`{config, layout, warnings}` of the Template.

        Any expansion is shown: a primitive that is not a Kubernetes object (which a
        deploy refuses) adds a warning instead of an error. References are checked as
        for a deploy.
        """
        namespace = template.namespace or self.services.default_namespace
        result = expand(self.services, template, namespace)
        resources = result["config"].get("resources") or []
        if not isinstance(resources, list):
            raise BadRequest("the expanded configuration's 'resources' is not a list")
        warnings = [str(item) for item in result.get("warnings") or []]
        imports = [item.name for item in template.imports]
        for resource in resources:
            try:
                check_primitive(resource, imports)
            except BadRequest as error:
                warnings.append(f"{error.message} (deploying it would fail)")
        build_graph([item for item in resources if isinstance(item, dict) and "name" in item])
        layout = result.get("layout") if isinstance(result.get("layout"), dict) else {}
        return {"config": {"resources": resources}, "layout": layout, "warnings": warnings}
