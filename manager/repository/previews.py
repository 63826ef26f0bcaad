"""Stored previews (SQL): a deployment's pending change, kept apart from its manifests
until it is applied or discarded."""

from __future__ import annotations

import json
from types import SimpleNamespace

from sqlalchemy import delete, insert, select

from dmcommon.errors import NotFound
from manager.models import Preview
from manager.repository.rows import manifest_from_row, manifest_values
from manager.repository.schema import previews


class SqlPreviews:
    """The preview methods of the SQL repository (mixed into SqlRepository)."""

    def save_preview(self, preview: Preview) -> None:
        manifest = {"name": preview.manifest.name, **manifest_values(preview.manifest)}
        values = {
            "created_at": preview.created_at,
            "fingerprint": preview.fingerprint,
            "manifest": json.dumps(manifest),
            "plan": json.dumps(preview.plan),
            "running_operation": preview.running_operation,
        }
        with self._transaction(write=True) as conn:
            conn.execute(delete(previews).where(previews.c.deployment == preview.deployment))
            conn.execute(insert(previews).values(deployment=preview.deployment, **values))

    def get_preview(self, deployment: str) -> Preview:
        with self._transaction() as conn:
            row = conn.execute(select(previews).where(previews.c.deployment == deployment)).first()
        if row is None:
            raise _no_preview(deployment)
        # The stored manifest has a manifest row's columns: map it the same way.
        stored = SimpleNamespace(deployment=deployment, **json.loads(row.manifest))
        return Preview(
            deployment=row.deployment,
            manifest=manifest_from_row(stored),
            fingerprint=row.fingerprint,
            plan=json.loads(row.plan),
            created_at=row.created_at,
            running_operation=row.running_operation,
        )

    def delete_preview(self, deployment: str) -> None:
        with self._transaction(write=True) as conn:
            result = conn.execute(delete(previews).where(previews.c.deployment == deployment))
        if result.rowcount != 1:
            raise _no_preview(deployment)


def _no_preview(deployment: str) -> NotFound:
    return NotFound(
        f'deployment "{deployment}" has no preview: make one with '
        f"PUT /deployments/{deployment}?preview=true (or POST /deployments?preview=true)"
    )
