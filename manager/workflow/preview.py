"""Previews: what a create or an update would do, shown before it is done, and applying
exactly that later.

A preview expands the Template, stores the manifest it would roll out as the
deployment's preview, and plans each resource: `create` (no live object), `update`
(with a unified diff of the live object against the server's dry-run result, fields
the server manages left out), `unchanged`, or `delete` (an object earlier manifests
applied that this one lacks, which the update would prune). Nothing changes on the
cluster. Resources whose properties still hold `$(ref...)` cannot be dry-run before
what they reference exists: they are compared as written, references unresolved.
"""

from __future__ import annotations

from typing import Any

from dmcommon.errors import Conflict, NotFound
from dmcommon.identity import object_key
from manager.models import (
    APPLY_PREVIEW,
    DEPLOYING,
    UPDATING,
    Deployment,
    Manifest,
    ManifestResource,
    Operation,
    Preview,
    State,
    Template,
    utc_now,
)
from manager.references import find_references
from manager.repository import new_manifest_name
from manager.workflow.action import RolloutAction
from manager.workflow.compare import applied_part, covers, unified_diff, without_server_fields
from manager.workflow.outcomes import applied_objects
from manager.workflow.plan import make_plan
from manager.workflow.prune import manifests_to_clean

CREATE_ACTION = "create"
UPDATE_ACTION = "update"
DELETE_ACTION = "delete"
UNCHANGED_ACTION = "unchanged"


class ApplyPreview(RolloutAction):
    type = APPLY_PREVIEW

    def preview(self, template: Template, create: bool) -> Preview:
        """Plan `template` for a new (`create`) or an existing deployment and store it."""
        name = template.name
        current = self._current(name)
        if create and current is not None:
            raise Conflict(
                f'deployment "{name}" already exists: preview an update with '
                f"PUT /deployments/{name}?preview=true"
            )
        if not create and current is None:
            raise NotFound(f'deployment "{name}" not found')
        namespace = template.namespace or (
            current.namespace if current else self.services.default_namespace
        )
        manifest = make_plan(self.services, template, namespace).manifest(
            name, current.revision + 1 if current else 1
        )
        preview = Preview(
            deployment=name,
            manifest=manifest,
            fingerprint=current.fingerprint if current else "",
            plan=self._plan(manifest, current),
            created_at=utc_now(),
            running_operation=self._running(current),
        )
        self.repository.save_preview(preview)
        return preview

    def start(self, name: str) -> Operation:
        """Roll out exactly the previewed manifest; `Conflict` when the deployment
        changed since the preview, `NotFound` when there is no preview."""
        preview = self.repository.get_preview(name)
        current = self._current(name)
        manifest = preview.manifest
        manifest.name = new_manifest_name()
        manifest.created_at = utc_now()
        operation = self.new_operation(name, manifest.name, manifest.input_config.options)
        self.plan_steps(operation, manifest)
        if not preview.fingerprint:
            if current is not None:
                raise _stale_preview(name, "was created")
            now = utc_now()
            deployment = Deployment(
                name=name,
                namespace=manifest.namespace,
                created_at=now,
                modified_at=now,
                state=State(DEPLOYING),
                latest_manifest=manifest.name,
                revision=1,
            )
            self.repository.start_operation(operation, deployment, manifest, create=True)
        else:
            if current is None:
                raise _stale_preview(name, "was deleted")
            if current.fingerprint != preview.fingerprint:
                raise _stale_preview(name, "changed")
            manifest.revision = current.revision + 1
            deployment = self.started(current, manifest, UPDATING)
            self.repository.start_operation(
                operation, deployment, manifest, expected_fingerprint=preview.fingerprint
            )
        self.repository.delete_preview(name)
        return self.submit(operation)

    # Planning

    def _plan(self, manifest: Manifest, current: Deployment | None) -> list[dict[str, Any]]:
        resourcifier = self.services.resourcifier
        namespace = manifest.namespace
        names = {item.name for item in manifest.resources}
        plain = [item for item in manifest.resources if not _references(item, names)]
        referring = [item for item in manifest.resources if _references(item, names)]
        entries: dict[str, dict[str, Any]] = {}
        dry = resourcifier.dry_run([item.to_wire() for item in plain], namespace) if plain else []
        if dry is None:
            referring = plain + referring
        else:
            for item, answer in zip(plain, dry):
                live = without_server_fields(answer.get("live"))
                after = without_server_fields(answer.get("dryRun")) or item.properties
                entries[item.name] = self._entry(item, namespace, live, after, exact=True)
        if referring:
            answers = resourcifier.status([item.to_wire() for item in referring], namespace)
            for index, item in enumerate(referring):
                live = answers[index].get("live") if answers else None
                entries[item.name] = self._entry(item, namespace, live, item.properties)
        plan = [entries[item.name] for item in manifest.resources]
        if current is not None:
            plan += self._deletions(manifest, current)
        return plan

    def _entry(
        self,
        item: ManifestResource,
        namespace: str,
        live: dict[str, Any] | None,
        after: dict[str, Any],
        exact: bool = False,
    ) -> dict[str, Any]:
        """A plan line; `exact` when `after` is the server's dry run (compare whole
        objects), else `after` is what DM applies (compare the fields it has)."""
        key = object_key(item.properties, namespace)
        if not isinstance(live, dict):
            action, diff = CREATE_ACTION, unified_diff(None, after, item.name)
        else:
            before = live if exact else applied_part(live, after)
            same = before == after if exact else covers(live, after)
            action = UNCHANGED_ACTION if same else UPDATE_ACTION
            diff = "" if same else unified_diff(before, after, item.name)
        return _line(item.name, key, action, diff)

    def _deletions(self, manifest: Manifest, current: Deployment) -> list[dict[str, Any]]:
        kept = {object_key(item.properties, manifest.namespace) for item in manifest.resources}
        earlier = manifests_to_clean(self.repository, current.name)
        gone = [key for key in applied_objects(earlier) if key not in kept]
        return [_line(key.name, key, DELETE_ACTION, "") for key in gone]

    def _current(self, name: str) -> Deployment | None:
        try:
            return self.repository.get_deployment(name)
        except NotFound:
            return None

    def _running(self, current: Deployment | None) -> str | None:
        if current is None or not current.operation:
            return None
        operation = self.repository.get_operation(current.operation)
        return None if operation.ended else operation.id


def _references(item: ManifestResource, names: set[str]) -> bool:
    return next(find_references(item.properties, names), None) is not None


def _line(resource: str, key, action: str, diff: str) -> dict[str, Any]:
    return {
        "resource": resource,
        "kind": key.kind,
        "namespace": key.namespace,
        "name": key.name,
        "action": action,
        "diff": diff,
    }


def _stale_preview(name: str, what: str) -> Conflict:
    return Conflict(
        f'deployment "{name}" {what} since the preview: preview the change again '
        f"(PUT /deployments/{name}?preview=true), then apply it"
    )
