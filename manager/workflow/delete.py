"""Delete: remove a deployment's objects from the cluster, then its record."""

from __future__ import annotations

from dataclasses import replace

from dmcommon.errors import DMError, NotFound
from manager.models import CANCELLED, DELETE, DELETING, FAILED, SUCCEEDED, Operation, State, utc_now
from manager.workflow.action import Action
from manager.workflow.prune import Pruner, manifests_to_clean
from manager.workflow.records import Recorder, Stopped


class Delete(Action):
    type = DELETE

    def start(
        self, name: str, if_match: str | None = None, keep_resources: bool = False
    ) -> Operation:
        """Store the delete operation; `Conflict` while another one runs."""
        current = self.repository.get_deployment(name)
        operation = self.new_operation(
            name, current.latest_manifest, None, keepResources=keep_resources
        )
        if not keep_resources:
            # List the delete steps from the start, so progress counts them all.
            pruner = Pruner(self.services, Recorder(self.repository, operation), current.namespace)
            pruner.plan(manifests_to_clean(self.repository, name), set())
        deployment = replace(current, state=State(DELETING), modified_at=utc_now())
        self.repository.start_operation(operation, deployment, expected_fingerprint=if_match)
        return self.submit(operation)

    def run(self, operation: Operation) -> None:
        """Delete the objects in reverse dependency order, then the record.

        The latest manifest's objects go first, then any that earlier manifests applied
        and no later one removed (left behind by a failed or interrupted operation).
        With `keepResources` the objects are abandoned on the cluster. When an object
        cannot be deleted the record stays, `Failed`, so the delete can be retried.
        """
        recorder = Recorder(self.repository, operation)
        recorder.begin()
        try:
            deployment = self.repository.get_deployment(operation.deployment)
        except NotFound:
            # Resumed after the record was deleted: only the ending is left to record.
            recorder.finish(SUCCEEDED, [])
            return
        errors: list[str] = []
        status = SUCCEEDED
        try:
            if not operation.params.get("keepResources"):
                pruner = Pruner(self.services, recorder, deployment.namespace)
                errors = pruner.run(manifests_to_clean(self.repository, deployment.name), set())
        except Stopped as stop:
            status, errors = stop.outcome, errors + [stop.message]
        except DMError as error:
            status, errors = FAILED, errors + [f"deleting stopped: {error.message}"]
        if status == SUCCEEDED and not errors:
            self.repository.delete_deployment(deployment.name)
            recorder.finish(SUCCEEDED, [])
            return
        deployment.state = State(FAILED, errors)
        deployment.modified_at = utc_now()
        self.repository.save_deployment(deployment)
        recorder.finish(CANCELLED if status == CANCELLED else FAILED, errors)
