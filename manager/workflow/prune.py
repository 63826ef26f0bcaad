"""Deleting objects: a deployment's on delete, those an update dropped on prune.

Objects are told apart by what they are on the cluster (group, kind, namespace, name),
not by resource name. The newest manifest that applied or deleted an object decides:
one a later manifest deleted is left alone, one a later manifest did not get to apply
(`Aborted`) is still deleted. Looking past the latest manifest (down to the newest
settled one) finds objects that a failed or interrupted operation left behind. Each
manifest's resources go in reverse dependency order; states are saved after each batch,
so a resumed operation continues where the last one stopped.
"""

from __future__ import annotations

from dmcommon.errors import DMError
from dmcommon.identity import ObjectKey, object_key
from manager import metrics
from manager.models import (
    APPLYING,
    CREATED,
    DELETED,
    DELETING_RESOURCE,
    FAILED,
    SUCCEEDED,
    UNCHANGED,
    Manifest,
    ResourceState,
)
from manager.repository import Repository
from manager.workflow.outcomes import error_lines, state_of
from manager.workflow.records import Recorder
from manager.workflow.services import Services

DELETE = "delete"
# States after which an object may exist on the cluster: applied, failed (perhaps half
# applied), of unknown outcome (interrupted) or being deleted when the owner died.
_MAY_EXIST = (CREATED, UNCHANGED, FAILED, APPLYING, DELETING_RESOURCE, None)


def manifests_to_clean(
    repository: Repository, deployment: str, skip: str | None = None
) -> list[Manifest]:
    """The manifests that may account for objects on the cluster, newest first, but for
    manifest `skip` (the one being rolled out).

    The list ends with the newest settled manifest: what manifests before it applied
    is either one of its objects or deleted, so an update reads one or two manifests
    however long the history.
    """
    found = []
    for name in reversed(repository.list_manifest_names(deployment)):
        if name == skip:
            continue
        found.append(repository.get_manifest(deployment, name))
        if found[-1].settled:
            break
    return found


class Pruner:
    """Deletes, for one operation, what `manifests` put on the cluster except `kept`."""

    def __init__(self, services: Services, recorder: Recorder, fallback_namespace: str):
        self.services = services
        self.recorder = recorder
        self.fallback = fallback_namespace

    def plan(
        self, manifests: list[Manifest], kept: set[ObjectKey]
    ) -> list[tuple[Manifest, set[int]]]:
        """Which resources of which manifest to delete; adds a delete step for each."""
        seen = set(kept)
        work = []
        for manifest in manifests:
            namespace = manifest.namespace or self.fallback
            gone = set()
            for index, record in enumerate(manifest.resources):
                key = object_key(record.properties, namespace)
                if key in seen:
                    continue
                if record.status in _MAY_EXIST:
                    gone.add(index)
                    seen.add(key)
                elif record.status == DELETED:
                    seen.add(key)
            if gone:
                work.append((manifest, gone))
                # Steps in the order they run: the newest dependency level first.
                for level in reversed(manifest.dependency_levels()):
                    for index in level:
                        if index in gone:
                            self.recorder.step(manifest.resources[index].name, DELETE)
        return work

    def run(self, manifests: list[Manifest], kept: set[ObjectKey]) -> list[str]:
        """Delete; return error lines. A downstream failure raises after recording."""
        errors: list[str] = []
        for manifest, indices in self.plan(manifests, kept):
            errors += self.delete(manifest, indices)
        return errors

    def delete(self, manifest: Manifest, indices: set[int]) -> list[str]:
        """Delete `indices` of `manifest` level by level, newest level first."""
        repository = self.services.repository
        namespace = manifest.namespace or self.fallback
        records = manifest.resources
        errors: list[str] = []
        for level in reversed(manifest.dependency_levels()):
            batch = [i for i in level if i in indices and records[i].status != DELETED]
            if not batch:
                continue
            self.recorder.check()
            for i in batch:
                records[i].state = ResourceState(DELETING_RESOURCE)
                self.recorder.start(self.recorder.step(records[i].name, DELETE))
            repository.save_manifest(manifest)
            self.recorder.flush()
            try:
                results = self.services.resourcifier.delete(
                    [records[i].to_wire() for i in batch], namespace
                )
            except DMError as error:
                for i in batch:
                    records[i].state = ResourceState(FAILED, [error.message])
                    metrics.resource_ended(records[i].properties, FAILED)
                    self.recorder.end(
                        self.recorder.step(records[i].name, DELETE), FAILED, error.message
                    )
                repository.save_manifest(manifest)
                self.recorder.flush()
                raise
            for i, result in zip(batch, results):
                state = state_of(result)
                records[i].state = state
                metrics.resource_ended(records[i].properties, state.status)
                step = self.recorder.step(records[i].name, DELETE)
                if state.status == DELETED:
                    self.recorder.end(step, SUCCEEDED, DELETED)
                else:
                    self.recorder.end(step, FAILED, "; ".join(state.errors))
                    errors += error_lines([records[i]])
            repository.save_manifest(manifest)
            self.recorder.flush()
        return errors
