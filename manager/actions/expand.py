"""Expand: show what a Template becomes, without deploying anything."""

from __future__ import annotations

from typing import Any

from manager.actions.base import Action
from manager.models import Template


class Expand(Action):
    def run(self, template: Template) -> dict[str, Any]:
        """`{config, layout}` of the Template; references are checked as for a deploy."""
        plan = self.plan(template, template.namespace or self.services.default_namespace)
        return {"config": {"resources": plan.resources}, "layout": plan.layout}
