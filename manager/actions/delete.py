"""Delete: remove a deployment's objects from the cluster, then its record."""

from __future__ import annotations

from manager.actions.base import Action, OperationFailed
from manager.models import DELETED, DELETING, FAILED, Deployment, State, utc_now


class Delete(Action):
    def run(
        self, name: str, if_match: str | None = None, keep_resources: bool = False
    ) -> Deployment:
        """Delete the deployment's objects in reverse dependency order, then the record.

        The latest manifest's objects go first, then any that earlier manifests applied
        and no later one removed (left behind by a failed or interrupted operation).

        With `keep_resources` the objects are abandoned on the cluster. When an object
        cannot be deleted the record stays, `Failed`, so the delete can be retried.
        Returns the deployment as it was, with status `Deleted`.
        """
        deployment = self.repository.begin_operation(name, DELETING, if_match)
        with self.recording_failure(deployment):
            if not keep_resources:
                errors, stopped = self.remove_objects(
                    self.manifests(name), set(), deployment.namespace
                )
                if errors or stopped is not None:
                    deployment.state = State(FAILED, errors)
                    deployment.modified_at = utc_now()
                    saved = self.repository.save_deployment(deployment)
                    if stopped is not None:
                        raise OperationFailed(stopped, name)
                    return saved
            self.repository.delete_deployment(name)
        deployment.state = State(DELETED)
        deployment.modified_at = utc_now()
        return deployment
