"""Update: apply a new Template to an existing deployment and prune what it dropped."""

from __future__ import annotations

from manager.actions.base import Action
from manager.models import UPDATING, Deployment, Template


class Update(Action):
    def run(self, template: Template, if_match: str | None = None) -> Deployment:
        """Plan the new manifest, lock the deployment and roll it out.

        Without a namespace in the Template the deployment keeps its own. A bad Template
        changes nothing; a stale `if_match` or a running operation is a `Conflict`.
        """
        current = self.repository.get_deployment(template.name)
        return self.redeploy(current, template, if_match)

    def redeploy(self, current: Deployment, template: Template, if_match: str | None) -> Deployment:
        """Roll `template` out as a new manifest of the existing deployment `current`."""
        plan = self.plan(template, template.namespace or current.namespace)
        deployment = self.repository.begin_operation(current.name, UPDATING, if_match)
        return self.roll_out(deployment, plan, prune=True)
