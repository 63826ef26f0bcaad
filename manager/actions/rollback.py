"""Rollback: redeploy the input of an earlier manifest as a new manifest."""

from __future__ import annotations

from manager.actions.update import Update
from manager.models import Deployment


class Rollback(Update):
    def run(self, name: str, manifest: str, if_match: str | None = None) -> Deployment:
        """Roll out manifest `manifest`'s input again; `NotFound` for an unknown manifest."""
        current = self.repository.get_deployment(name)
        earlier = self.repository.get_manifest(name, manifest)
        return self.redeploy(current, earlier.input_config, if_match)
