"""Update: roll a new Template out to an existing deployment and prune what it dropped."""

from __future__ import annotations

from manager.models import UPDATE, UPDATING, Deployment, Operation, Options, Template
from manager.workflow.action import RolloutAction
from manager.workflow.plan import make_plan


class Update(RolloutAction):
    type = UPDATE

    def start(self, template: Template, if_match: str | None = None) -> Operation:
        """Plan the new manifest, then store it with the operation.

        Without a namespace in the Template the deployment keeps its own. A bad Template
        changes nothing; a stale `if_match` or a running operation is a `Conflict`.
        """
        current = self.repository.get_deployment(template.name)
        return self.redeploy(current, template, if_match, template.options)

    def redeploy(
        self,
        current: Deployment,
        template: Template,
        if_match: str | None,
        options: Options | None,
        **params,
    ) -> Operation:
        """Roll `template` out as a new manifest of the existing deployment `current`."""
        plan = make_plan(self.services, template, template.namespace or current.namespace)
        manifest = plan.manifest(current.name, current.revision + 1)
        operation = self.new_operation(current.name, manifest.name, options, **params)
        deployment = self.started(current, manifest, UPDATING)
        self.plan_steps(operation, manifest)
        self.repository.start_operation(
            operation, deployment, manifest, expected_fingerprint=if_match
        )
        return self.submit(operation)
