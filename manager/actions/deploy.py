"""Deploy: create a deployment from a Template."""

from __future__ import annotations

from dmcommon.errors import Conflict, NotFound
from manager.actions.base import Action
from manager.models import DEPLOYING, Deployment, State, Template, utc_now


class Deploy(Action):
    def run(self, template: Template) -> Deployment:
        """Plan, then create the deployment and apply its first manifest.

        A name that exists is a `Conflict`, even when that deployment failed: redeploy it
        with an update (PUT) or delete it first. Nothing is stored when planning fails.
        """
        self._ensure_free(template.name)
        namespace = template.namespace or self.services.default_namespace
        plan = self.plan(template, namespace)
        now = utc_now()
        deployment = self.repository.create_deployment(
            Deployment(
                name=template.name,
                namespace=namespace,
                created_at=now,
                modified_at=now,
                state=State(DEPLOYING),
            )
        )
        return self.roll_out(deployment, plan, prune=False)

    def _ensure_free(self, name: str) -> None:
        try:
            existing = self.repository.get_deployment(name)
        except NotFound:
            return
        raise Conflict(
            f'deployment "{name}" already exists ({existing.state.status}): update it with '
            f"PUT /deployments/{name} or delete it first"
        )
