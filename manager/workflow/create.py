"""Create: a new deployment from a Template."""

from __future__ import annotations

from dmcommon.errors import Conflict, NotFound
from manager.models import CREATE, DEPLOYING, Deployment, Operation, State, Template, utc_now
from manager.workflow.action import RolloutAction
from manager.workflow.plan import make_plan


class Create(RolloutAction):
    type = CREATE
    prunes = False
    skips_unchanged = False

    def start(self, template: Template) -> Operation:
        """Plan, then store the deployment, its first manifest and the operation.

        A name that exists is a `Conflict`, even when that deployment failed: redeploy it
        with an update (PUT) or delete it first. Nothing is stored when planning fails.
        """
        self._ensure_free(template.name)
        namespace = template.namespace or self.services.default_namespace
        manifest = make_plan(self.services, template, namespace).manifest(template.name, 1)
        operation = self.new_operation(template.name, manifest.name, template.options)
        now = utc_now()
        deployment = Deployment(
            name=template.name,
            namespace=namespace,
            created_at=now,
            modified_at=now,
            state=State(DEPLOYING),
            latest_manifest=manifest.name,
            revision=manifest.revision,
        )
        self.plan_steps(operation, manifest)
        self.repository.start_operation(operation, deployment, manifest, create=True)
        return self.submit(operation)

    def _ensure_free(self, name: str) -> None:
        try:
            existing = self.repository.get_deployment(name)
        except NotFound:
            return
        raise Conflict(
            f'deployment "{name}" already exists ({existing.state.status}): update it with '
            f"PUT /deployments/{name} or delete it first"
        )
