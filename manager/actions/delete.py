"""Delete: remove a deployment's objects from the cluster, then its record."""

from __future__ import annotations

from manager.actions.base import Action, OperationFailed, applied_indices
from manager.models import DELETED, DELETING, FAILED, Deployment, State, utc_now


class Delete(Action):
    def run(
        self, name: str, if_match: str | None = None, keep_resources: bool = False
    ) -> Deployment:
        """Delete the latest manifest's objects in reverse dependency order, then the record.

        With `keep_resources` the objects are abandoned on the cluster. When an object
        cannot be deleted the record stays, `Failed`, so the delete can be retried.
        Returns the deployment as it was, with status `Deleted`.
        """
        deployment = self.repository.begin_operation(name, DELETING, if_match)
        with self.recording_failure(deployment):
            if not keep_resources and deployment.latest_manifest:
                manifest = self.repository.get_manifest(name, deployment.latest_manifest)
                applied = applied_indices(manifest)
                errors, stopped = self.delete_resources(manifest, deployment.namespace, applied)
                if errors or stopped is not None:
                    self.repository.save_manifest(manifest)
                    deployment.state = State(FAILED, errors)
                    deployment.modified_at = utc_now()
                    self.repository.save_deployment(deployment)
                    if stopped is not None:
                        raise OperationFailed(stopped, name)
                    return self.repository.get_deployment(name)
            self.repository.delete_deployment(name)
        deployment.state = State(DELETED)
        deployment.modified_at = utc_now()
        return deployment
