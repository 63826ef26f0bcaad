"""Rollback: roll the input of an earlier revision out again, as a new revision."""

from __future__ import annotations

from dmcommon.errors import BadRequest, NotFound
from manager.models import ROLLBACK, SUCCEEDED, Operation, Options
from manager.workflow.update import Update


class Rollback(Update):
    type = ROLLBACK

    def start(
        self,
        name: str,
        target: str | None,
        if_match: str | None = None,
        options: Options | None = None,
    ) -> Operation:
        """Roll out revision (or manifest) `target`; by default the newest successful
        revision before the latest one. `NotFound` for an unknown target."""
        current = self.repository.get_deployment(name)
        manifest = target or self._previous_successful(name, current.latest_manifest)
        earlier = self.repository.get_manifest(name, manifest)
        template = earlier.input_config
        if options is None:
            options = template.options
        return self.redeploy(current, template, if_match, options, revision=earlier.revision)

    def _previous_successful(self, name: str, latest: str | None) -> str:
        summaries = [
            item for item in self.repository.list_manifests(name) if item["name"] != latest
        ]
        for item in reversed(summaries):
            if item["status"] == SUCCEEDED or item["status"] is None:
                return item["name"]
        if not summaries:
            raise BadRequest(f'deployment "{name}" has no earlier revision to roll back to')
        raise NotFound(f'deployment "{name}" has no earlier successful revision to roll back to')
