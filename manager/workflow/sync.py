"""Sync: apply the latest manifest again, every resource of it, repairing drift."""

from __future__ import annotations

from manager.models import SYNC, UPDATING, Manifest, Operation, Options
from manager.workflow.action import RolloutAction


class Sync(RolloutAction):
    type = SYNC
    skips_unchanged = False

    def start(
        self, name: str, if_match: str | None = None, options: Options | None = None
    ) -> Operation:
        current = self.repository.get_deployment(name)
        manifest = self.repository.get_manifest(name, current.latest_manifest or "")
        operation = self.new_operation(
            name, manifest.name, options or manifest.input_config.options
        )
        deployment = self.started(current, manifest, UPDATING)
        self.plan_steps(operation, manifest)
        self.repository.start_operation(operation, deployment, expected_fingerprint=if_match)
        return self.submit(operation)

    def prepare(self, manifest: Manifest) -> None:
        """Every resource is applied again: forget the outcomes of the last rollout."""
        for resource in manifest.resources:
            resource.state = None
        manifest.settled = False
        self.repository.save_manifest(manifest)
