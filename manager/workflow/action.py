"""What every action shares: starting an operation (in the request) and running it (in
the background), and recording how a rollout ended.

An action's `start` checks and plans in the request — every problem found there is a
4xx that stores nothing — then stores the operation and hands it to the runner. Its
`run` does the work, step by step, and may be called again for the same operation by
another process after a crash (see runner.py), so it resumes from what is recorded.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

from dmcommon.errors import DMError
from dmcommon.identity import object_key
from manager.instances import type_instances
from manager.models import (
    DEPLOYED,
    FAILED,
    PENDING,
    SUCCEEDED,
    Deployment,
    Health,
    Manifest,
    Operation,
    Options,
    State,
    utc_now,
)
from manager.workflow.outcomes import applied_objects
from manager.workflow.prune import Pruner, manifests_to_clean
from manager.workflow.records import Recorder, Stopped
from manager.workflow.rollout import Rollout, plan_steps
from manager.workflow.services import Services

# Worst first: a deployment's health is that of its least healthy resource.
_HEALTH_ORDER = ("Degraded", "Missing", "Progressing", "Unknown", "Healthy")


class Action:
    """Base of the user actions: `start` in the request, `run` in the background."""

    type = ""

    def __init__(self, services: Services):
        self.services = services
        self.repository = services.repository

    def new_operation(
        self, deployment: str, manifest: str | None, options: Options | None, **params
    ) -> Operation:
        options = options or Options()
        return Operation(
            id=uuid.uuid4().hex,
            deployment=deployment,
            type=self.type,
            status=PENDING,
            created_at=utc_now(),
            manifest=manifest,
            options=options,
            params=params,
            deadline=time.time() + options.timeout,
        )

    def plan_steps(self, operation: Operation, manifest: Manifest) -> None:
        """Give the operation its apply (and wait) steps before it is stored."""
        plan_steps(Recorder(self.repository, operation), manifest)

    def submit(self, operation: Operation) -> Operation:
        """Hand the stored operation to the runner; answer it as stored."""
        if self.services.runner is None:
            return operation
        self.services.runner.submit(operation.id)
        # A runner may have finished it already (an inline one always has).
        return self.repository.get_operation(operation.id)

    def run(self, operation: Operation) -> None:
        raise NotImplementedError


class RolloutAction(Action):
    """An action that rolls a manifest out: create, update, rollback, sync, apply-preview."""

    prunes = True
    skips_unchanged = True
    """Apply only what changed or drifted since the last rollout (not for create or sync)."""

    def started(self, current: Deployment, manifest: Manifest, status: str) -> Deployment:
        """`current` as it is while `manifest` rolls out."""
        return replace(
            current,
            namespace=manifest.namespace,
            state=State(status),
            modified_at=utc_now(),
            latest_manifest=manifest.name,
            revision=manifest.revision,
        )

    def run(self, operation: Operation) -> None:
        recorder = Recorder(self.repository, operation)
        first_run = operation.status == PENDING
        recorder.begin()
        deployment = self.repository.get_deployment(operation.deployment)
        manifest = self.repository.get_manifest(operation.deployment, operation.manifest)
        if first_run:
            self.prepare(manifest)
        errors: list[str] = []
        status = SUCCEEDED
        earlier = (
            manifests_to_clean(self.repository, deployment.name, skip=manifest.name)
            if self.prunes or self.skips_unchanged
            else []
        )
        previous = applied_objects(earlier) if self.skips_unchanged else None
        try:
            errors = Rollout(self.services, recorder, manifest, previous).run()
            if not errors and self.prunes:
                errors = self.prune(recorder, deployment, manifest, earlier)
        except Stopped as stop:
            status, errors = stop.outcome, errors + [stop.message]
        except DMError as error:
            status, errors = FAILED, errors + [error.message]
        if errors and status == SUCCEEDED:
            status = FAILED
        if status == FAILED and operation.options.atomic:
            self.roll_back(recorder, deployment, manifest, errors)
            return
        self.finish(recorder, deployment, manifest, status, errors)

    def roll_back(
        self, recorder: Recorder, deployment: Deployment, failed: Manifest, errors: list[str]
    ) -> None:
        """Undo a failed atomic change in the same operation: apply the last successful
        manifest again and delete what the failed one added — or, when there is none
        (a first deploy), delete everything and the deployment with it."""
        operation = recorder.operation
        recorder.phase = "rollback"
        # The undo gets a deadline of its own: the change may have failed by running out.
        operation.deadline = time.time() + operation.options.timeout
        self.repository.save_manifest(failed)
        previous = self._last_settled(deployment.name, failed.name)
        try:
            if previous is None:
                pruner = Pruner(self.services, recorder, deployment.namespace)
                undo_errors = pruner.run([failed], set())
                if not undo_errors:
                    self.repository.delete_deployment(deployment.name)
                    recorder.finish(FAILED, errors + ["rolled back: its objects were deleted"])
                    return
            else:
                undo_errors = self._restore(recorder, deployment, previous, failed)
                if not undo_errors:
                    deployment.latest_manifest = previous.name
                    deployment.revision = previous.revision
                    self.finish(
                        recorder,
                        deployment,
                        previous,
                        FAILED,
                        errors + [f"rolled back to revision {previous.revision}"],
                        deployed=True,
                    )
                    return
        except DMError as error:
            undo_errors = [error.message]
        errors = errors + [f"rolling back failed: {line}" for line in undo_errors]
        self.finish(recorder, deployment, previous or failed, FAILED, errors)

    def _restore(
        self, recorder: Recorder, deployment: Deployment, previous: Manifest, failed: Manifest
    ) -> list[str]:
        for resource in previous.resources:
            resource.state = None
        previous.settled = False
        undo_errors = Rollout(self.services, recorder, previous).run()
        if undo_errors:
            return undo_errors
        kept = {object_key(item.properties, previous.namespace) for item in previous.resources}
        return Pruner(self.services, recorder, deployment.namespace).run([failed], kept)

    def _last_settled(self, deployment: str, skip: str) -> Manifest | None:
        for name in reversed(self.repository.list_manifest_names(deployment)):
            if name == skip:
                continue
            manifest = self.repository.get_manifest(deployment, name)
            if manifest.settled:
                return manifest
        return None

    def prepare(self, manifest: Manifest) -> None:
        """Called once, before the first run of the operation."""

    def prune(
        self,
        recorder: Recorder,
        deployment: Deployment,
        manifest: Manifest,
        earlier: list[Manifest],
    ) -> list[str]:
        """Delete what the `earlier` manifests applied that `manifest` no longer has."""
        kept = {object_key(item.properties, manifest.namespace) for item in manifest.resources}
        pruner = Pruner(self.services, recorder, deployment.namespace)
        return [f"pruning: {line}" for line in pruner.run(earlier, kept)]

    def finish(
        self,
        recorder: Recorder,
        deployment: Deployment,
        manifest: Manifest,
        status: str,
        errors: list[str],
        deployed: bool = False,
    ) -> None:
        """Record the outcome on the manifest, the deployment and the operation.

        `deployed` marks `manifest` rolled out and the deployment Deployed even though the
        operation failed (an atomic change that was undone).
        """
        now = utc_now()
        if status == SUCCEEDED or deployed:
            # Every resource was applied and every object earlier manifests left that
            # this one lacks was deleted: clean-ups need not look past this manifest.
            manifest.settled = True
            self.repository.set_type_instances(
                deployment.name, type_instances(deployment.name, manifest.name, manifest.layout)
            )
            deployment.state = State(DEPLOYED, [])
            deployment.deployed_at = now
        else:
            deployment.state = State(FAILED, errors)
        self.repository.save_manifest(manifest)
        deployment.health = worst_health(manifest)
        deployment.modified_at = now
        self.repository.save_deployment(deployment)
        recorder.finish(status, errors)


def worst_health(manifest: Manifest) -> Health | None:
    """The least healthy of the manifest's resources, None when none reported health."""
    return worst(
        [item.state.health for item in manifest.resources if item.state and item.state.health]
    )


def worst(found: list[Health]) -> Health | None:
    """The least healthy of `found`, None when it is empty."""
    if not found:
        return None
    worst = min(found, key=lambda health: _rank(health.status))
    if worst.status == "Healthy":
        return Health("Healthy", f"{len(found)} resources healthy")
    return worst


def _rank(status: str) -> int:
    return _HEALTH_ORDER.index(status) if status in _HEALTH_ORDER else 3


def fail_operation(services: Services, operation: Operation, reason: str) -> None:
    """End an operation that could not run at all, and mark its deployment Failed."""
    recorder = Recorder(services.repository, operation)
    try:
        deployment = services.repository.get_deployment(operation.deployment)
        deployment.state = State(FAILED, [reason])
        deployment.modified_at = utc_now()
        services.repository.save_deployment(deployment)
    except DMError:
        pass
    recorder.finish(FAILED, [reason])
