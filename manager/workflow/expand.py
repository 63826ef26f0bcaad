"""Expand: show what a Template becomes, without deploying anything."""

from __future__ import annotations

from typing import Any

from manager.models import Template
from manager.workflow.action import Action
from manager.workflow.plan import make_plan


class Expand(Action):
    def run_now(self, template: Template) -> dict[str, Any]:
        """`{config, layout, warnings}` of the Template; references are checked as for a
        deploy."""
        plan = make_plan(
            self.services, template, template.namespace or self.services.default_namespace
        )
        return {
            "config": {"resources": plan.resources},
            "layout": plan.layout,
            "warnings": plan.warnings,
        }
