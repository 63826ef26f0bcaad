"""Rolling a manifest out: each dependency level applied in one batch (its namespace
created first when the cluster lacks it), read back where a later level references it,
and waited on until healthy.

Resumable: a level whose resources all have an outcome is skipped; one with a resource
still `Applying` (the previous owner died mid-level) is applied again — applying is
idempotent. The manifest is saved before and after each batch is applied.
"""

from __future__ import annotations

import time
from typing import Any

from dmcommon.errors import BadRequest, DMError
from dmcommon.identity import ObjectKey, object_key
from manager import metrics
from manager.labels import managed_labels
from manager.models import (
    ABORTED,
    APPLYING,
    CREATED,
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    UNCHANGED,
    Health,
    Manifest,
    ResourceState,
)
from manager.redaction import redactor_of
from manager.references import MissingValue, build_graph, lookup, substitute
from manager.workflow.compare import covers
from manager.workflow.outcomes import APPLIED, error_lines, state_of
from manager.workflow.records import Recorder
from manager.workflow.services import Services

APPLY = "apply"
WAIT = "wait"
HEALTHY = "Healthy"
SKIPPED = "Skipped"


class Rollout:
    """Applies one manifest for one operation."""

    def __init__(
        self,
        services: Services,
        recorder: Recorder,
        manifest: Manifest,
        previous: dict[ObjectKey, dict[str, Any]] | None = None,
    ):
        """`previous` holds the objects the last rollout applied, by key: a resource whose
        object is the same and whose live object still has every field of it is skipped
        (`Unchanged`). Without it (create, sync) every resource is applied."""
        self.services = services
        self.repository = services.repository
        self.recorder = recorder
        self.manifest = manifest
        self.previous = previous or {}
        self.waits = recorder.operation.options.wait
        self.graph = build_graph([item.to_wire() for item in manifest.resources])
        # Cluster errors may quote the values they refused: none is recorded.
        self.hide = redactor_of(manifest)
        self.live: dict[int, dict[str, Any] | None] = {}
        self.healthy_on_apply: set[int] = set()
        """Resources this run applied whose apply answer already said Healthy."""
        self.namespace_ready = False
        """Whether the namespace is known to exist: checked (or created) before the first
        batch is applied, unless a live object in it was read before that."""

    def plan_steps(self) -> None:
        """Add an apply step (and, when waiting, a wait step) for every resource."""
        plan_steps(self.recorder, self.manifest)

    def run(self) -> list[str]:
        """Apply every level; return one error line per resource that failed.

        Raises a DMError when a downstream service failure stops the work (the rest of
        the resources are then `Aborted`) and `Stopped` on cancel or deadline.
        """
        self.plan_steps()
        records = self.manifest.resources
        for position, level in enumerate(self.graph.levels):
            rest = [i for later in self.graph.levels[position + 1 :] for i in later]
            try:
                self.recorder.check()
                batch = self._to_apply(level)
                if batch and not self.namespace_ready and (refused := self._ensure_namespace()):
                    return error_lines(records) + [refused]
                self._apply(batch)
                unhealthy = self._wait_level(level)
            except DMError as error:
                self._abort(level + rest, f"not applied: {error.message}")
                raise
            if unhealthy:
                names = ", ".join(records[i].name for i in unhealthy)
                self._abort(rest, f"not applied: {names} did not become healthy in time")
                break
        # No batch was applied and no live object read from the namespace: it is still
        # made sure of, as by every rollout.
        if not self.namespace_ready and (refused := self._ensure_namespace()):
            return error_lines(records) + [refused]
        return error_lines(records)

    # One level

    def _to_apply(self, level: list[int]) -> list[int]:
        """The resources of `level` to apply; the others get their outcome (recorded)."""
        records = self.manifest.resources
        todo = [i for i in level if records[i].status in (None, APPLYING)]
        done = [i for i in level if records[i].status in APPLIED]
        self._read_needed(done)
        # Outcomes that applied nothing are recorded with the next change (before the
        # next batch is applied, or at the end): a resumed operation decides them again.
        return self._changed([i for i in todo if self._prepare(i)])

    def _apply(self, batch: list[int]) -> None:
        """Apply `batch` in one call, recording before and after it."""
        if not batch:
            return
        records = self.manifest.resources
        for i in batch:
            records[i].state = ResourceState(APPLYING)
            self.recorder.start(self.recorder.step(records[i].name, APPLY))
        self._save()
        try:
            results = self.services.resourcifier.apply(
                [records[i].to_wire() for i in batch], self.manifest.namespace
            )
        except BadRequest as error:
            # The resourcifier refused the whole batch (e.g. an unknown kind).
            results = [{"state": {"status": FAILED, "errors": [error.message]}} for _ in batch]
        except DMError as error:
            for i in batch:
                self._set(i, ResourceState(FAILED, [error.message]))
            self._save()
            raise
        for i, result in zip(batch, results):
            state = state_of(result)
            self._set(i, state)
            if isinstance(result.get("live"), dict):
                self.live[i] = result["live"]
            if state.health is not None and state.health.status == HEALTHY:
                self.healthy_on_apply.add(i)
        self._save()
        self._read_needed(batch)

    def _changed(self, batch: list[int]) -> list[int]:
        """The resources of `batch` to apply: those whose object differs from what the last
        rollout applied, or whose live object drifted from it (one batched read decides).
        The others are recorded `Unchanged`."""
        records = self.manifest.resources
        namespace = self.manifest.namespace
        same = [
            i
            for i in batch
            if self.previous.get(object_key(records[i].properties, namespace))
            == records[i].properties
        ]
        if not same:
            return batch
        answers = self.services.resourcifier.status([records[i].to_wire() for i in same], namespace)
        if answers is None:
            return batch
        unchanged = set()
        for i, answer in zip(same, answers):
            live = answer.get("live")
            if not isinstance(live, dict):
                continue
            # A live object in the namespace shows that the namespace exists.
            self.namespace_ready |= (live.get("metadata") or {}).get("namespace") == namespace
            if covers(live, records[i].properties):
                unchanged.add(i)
                self.live[i] = live
                health = Health.from_dict(answer.get("health"))
                self._set(i, ResourceState(UNCHANGED, [], health))
                if health is not None and health.status == HEALTHY and self.waits:
                    # Already read: no need to ask again in this level's wait.
                    self._end_wait(i, health)
        return [i for i in batch if i not in unchanged]

    def _wait_level(self, level: list[int]) -> list[int]:
        """Poll the health of the level's applied resources until all are Healthy; return
        those still unhealthy at the deadline, which fail with their health message.

        Skipped when the operation does not wait.
        """
        recorder = self.recorder
        if not recorder.operation.options.wait:
            return []
        records = self.manifest.resources
        waiting = [
            i
            for i in level
            if records[i].status in APPLIED
            and recorder.status_of(records[i].name, WAIT) != SUCCEEDED
        ]
        for i in level:
            # A resource that was not applied has nothing to wait for.
            if i not in waiting and recorder.status_of(records[i].name, WAIT) in (PENDING, RUNNING):
                recorder.end(recorder.step(records[i].name, WAIT), SKIPPED, "not applied")
        if not waiting:
            return []
        for i in waiting:
            recorder.start(recorder.step(records[i].name, WAIT))
        # What this run's apply answer found Healthy needs no second look (nor a record
        # of its own: waits change nothing, they are recorded with the next change).
        for i in waiting:
            if i in self.healthy_on_apply:
                self._end_wait(i, records[i].state.health)
        waiting = [i for i in waiting if i not in self.healthy_on_apply]
        if not waiting:
            return []
        recorder.flush()
        pause = self.services.poll_interval
        while True:
            answers = self.services.resourcifier.status(
                [records[i].to_wire() for i in waiting], self.manifest.namespace
            )
            if answers is None:
                # A backend without health reports: what it accepted counts as healthy.
                for i in waiting:
                    recorder.end(
                        recorder.step(records[i].name, WAIT), SUCCEEDED, "no health reported"
                    )
                recorder.flush()
                return []
            still = []
            for i, answer in zip(waiting, answers):
                health = Health.from_dict(answer.get("health")) or Health("Unknown", "")
                records[i].state.health = health
                if isinstance(answer.get("live"), dict):
                    self.live[i] = answer["live"]
                if health.status == HEALTHY:
                    self._end_wait(i, health)
                else:
                    recorder.progress(
                        recorder.step(records[i].name, WAIT), health.message or health.status
                    )
                    still.append(i)
            self._save()
            waiting = still
            if not waiting:
                return []
            left = recorder.seconds_left()
            if left <= 0:
                self._fail_waits(waiting)
                return waiting
            recorder.check(deadline=False)
            time.sleep(min(pause, left))
            pause = min(pause * 1.5, self.services.poll_interval * 4)

    def _end_wait(self, index: int, health: Health) -> None:
        """Resource `index` is Healthy: its wait step succeeds."""
        step = self.recorder.step(self.manifest.resources[index].name, WAIT)
        self.recorder.end(step, SUCCEEDED, health.message or HEALTHY)

    def _fail_waits(self, waiting: list[int]) -> None:
        records = self.manifest.resources
        timeout = self.recorder.operation.options.timeout
        for i in waiting:
            health = records[i].state.health or Health("Unknown", "")
            message = f"{records[i].name}: {health.message or health.status} after {timeout:g} s"
            records[i].state = ResourceState(FAILED, [message], health)
            self.recorder.end(self.recorder.step(records[i].name, WAIT), FAILED, message)
        self._save()

    # Helpers

    def _prepare(self, index: int) -> bool:
        """Substitute the references of resource `index`; False (with its state set) when it
        cannot be applied because a dependency failed or a referenced value is missing."""
        records = self.manifest.resources
        record = records[index]
        graph = self.graph
        blocked = sorted(
            graph.names[dep]
            for dep in graph.depends_on[index]
            if records[dep].status not in APPLIED
        )
        if blocked:
            self._set(
                index,
                ResourceState(
                    ABORTED,
                    [f"not applied: it depends on {', '.join(blocked)}, which was not applied"],
                ),
            )
            return False
        values: dict[str, Any] = {}
        for reference in graph.references[index]:
            obj = self.live.get(graph.index_of[reference.name])
            try:
                if obj is None:
                    raise MissingValue(reference.path)
                values[reference.text] = lookup(obj, reference)
            except MissingValue:
                self._set(
                    index,
                    ResourceState(
                        FAILED,
                        [
                            f"reference {reference.text}: the live object of resource "
                            f"{reference.name!r} has no value at {reference.path!r}"
                        ],
                    ),
                )
                return False
        if values:
            record.properties = substitute(record.properties, values)
        return True

    def _read_needed(self, indices: list[int]) -> None:
        """Read back the live objects that later levels reference and we lack."""
        needed = set().union(*self.graph.depends_on) if self.graph.depends_on else set()
        for i in indices:
            record = self.manifest.resources[i]
            if i in needed and self.live.get(i) is None and record.status in APPLIED:
                metadata = record.properties.get("metadata") or {}
                self.live[i] = self.services.resourcifier.get(
                    record.properties["kind"],
                    metadata["name"],
                    metadata.get("namespace") or self.manifest.namespace,
                )

    def _ensure_namespace(self) -> str | None:
        """Create the deployment's namespace when the cluster lacks it; None once it exists,
        else why it cannot be (every resource without an outcome is then `Aborted`). It is
        not one of the deployment's resources: deleting the deployment leaves it."""
        try:
            self._create_namespace()
        except DMError as error:
            reason = f'namespace "{self.manifest.namespace}" could not be created: {error.message}'
            self._abort(range(len(self.manifest.resources)), reason)
            if isinstance(error, BadRequest):
                return reason
            raise
        self.namespace_ready = True
        return None

    def _create_namespace(self) -> None:
        namespace = self.manifest.namespace
        resourcifier = self.services.resourcifier
        if resourcifier.get("Namespace", namespace, None) is not None:
            return
        obj = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": managed_labels()},
        }
        result = resourcifier.apply(
            [{"name": namespace, "type": "Namespace", "properties": obj}], namespace
        )
        state = state_of(result[0])
        if state.status != CREATED:
            raise BadRequest("; ".join(state.errors) or "rejected")

    def _set(self, index: int, state: ResourceState) -> None:
        record = self.manifest.resources[index]
        state.errors = [self.hide.text(error) for error in state.errors]
        record.state = state
        metrics.resource_ended(record.properties, state.status)
        step = self.recorder.step(record.name, APPLY)
        if state.status in APPLIED:
            self.recorder.end(step, SUCCEEDED, state.status)
        else:
            self.recorder.end(step, state.status, "; ".join(state.errors))

    def _abort(self, indices, reason: str) -> None:
        """Mark the resources `indices` that have no outcome yet `Aborted` for `reason`."""
        for i in indices:
            if self.manifest.resources[i].status in (None, APPLYING):
                self._set(i, ResourceState(ABORTED, [reason]))
        self._save()

    def _save(self) -> None:
        self.repository.save_manifest(self.manifest)
        self.recorder.flush()


def plan_steps(recorder: Recorder, manifest: Manifest) -> None:
    """Add an apply step (and, when the operation waits, a wait step) per resource.

    Done when the operation is stored, so that its progress counts every step from the
    start, and again when it runs (adding is idempotent).
    """
    wait = recorder.operation.options.wait
    for resource in manifest.resources:
        recorder.step(resource.name, APPLY)
        if wait:
            recorder.step(resource.name, WAIT)
