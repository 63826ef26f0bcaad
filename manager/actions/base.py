"""What every action shares: the collaborators, planning (expansion and the reference
graph), applying a plan level by level, deleting resources, and recording the outcome.

An action that changes a deployment holds the repository's operation lock from the
moment it starts changing anything until it records the outcome. Whatever goes wrong in
between, the deployment ends `Failed` with the reason, and the manifest says which
resources were applied (`Created`), rejected (`Failed`) or never tried (`Aborted`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from dmcommon.errors import BadRequest, DMError
from dmcommon.identity import object_key
from manager.instances import type_instances
from manager.labels import managed_labels, with_labels
from manager.models import (
    ABORTED,
    CREATED,
    DELETED,
    DEPLOYED,
    FAILED,
    Deployment,
    Manifest,
    State,
    Template,
    utc_now,
)
from manager.references import DependencyGraph, MissingValue, build_graph, lookup, substitute
from manager.repository import Repository, new_manifest_name

log = logging.getLogger(__name__)


class Expander(Protocol):
    def expand(self, template: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]: ...


class Resourcifier(Protocol):
    def apply(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]: ...

    def delete(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]: ...

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None: ...


@dataclass
class Services:
    """The collaborators of the workflow, wired once at start-up (tests pass their own)."""

    repository: Repository
    expander: Expander
    resourcifier: Resourcifier
    resolve_types: Callable[[Template], Template]
    default_namespace: str = "default"


@dataclass
class Plan:
    """A checked expansion, ready to apply: nothing has been stored or applied yet."""

    template: Template
    namespace: str
    resources: list[dict[str, Any]]
    layout: dict[str, Any]
    graph: DependencyGraph


class OperationFailed(DMError):
    """A downstream failure that stopped an operation after it had started recording."""

    def __init__(self, cause: DMError, deployment: str):
        super().__init__(f'{cause.message} (deployment "{deployment}" is now Failed)')
        self.status = cause.status


class Action:
    """Base of the user actions: each subclass has one `run`."""

    def __init__(self, services: Services):
        self.services = services
        self.repository = services.repository

    # Planning

    def plan(self, template: Template, namespace: str) -> Plan:
        """Resolve remote types, expand, and check the references; `BadRequest` when invalid."""
        resolved = self.services.resolve_types(template)
        env = {"deployment": template.name, "project": namespace}
        result = self.services.expander.expand(resolved.to_dict(), env)
        resources = result["config"].get("resources") or []
        if not isinstance(resources, list):
            raise BadRequest("the expanded configuration's 'resources' is not a list")
        for resource in resources:
            _check_primitive(resource)
        graph = build_graph(resources)
        layout = result.get("layout") if isinstance(result.get("layout"), dict) else {}
        return Plan(template, namespace, resources, layout, graph)

    # Applying

    def roll_out(self, deployment: Deployment, plan: Plan, prune: bool) -> Deployment:
        """Store a new manifest for `plan`, apply it, and record the outcome.

        With `prune`, objects that earlier manifests applied and the new one no longer
        has are then deleted. `deployment` must be locked by the caller.
        """
        name = deployment.name
        fallback_namespace = deployment.namespace
        with self.recording_failure(deployment):
            manifest = Manifest(
                deployment=name,
                name=new_manifest_name(),
                created_at=utc_now(),
                input_config=plan.template,
                expanded_config={
                    "resources": [_record(resource, name) for resource in plan.resources],
                    "levels": plan.graph.levels,
                    "namespace": plan.namespace,
                },
                layout=plan.layout,
            )
            earlier = self.manifests(name) if prune else []
            self.repository.add_manifest(manifest)
            deployment.namespace = plan.namespace
            deployment.latest_manifest = manifest.name
            deployment = self.repository.save_deployment(deployment)
            errors, stopped = self._apply(manifest, plan)
            if earlier and stopped is None:
                kept = {
                    object_key(record["properties"], plan.namespace)
                    for record in manifest.expanded_config["resources"]
                }
                lines, _ = self.remove_objects(earlier, kept, fallback_namespace)
                errors += [f"pruning: {line}" for line in lines]
            return self._finish(deployment, manifest, errors, stopped)

    def manifests(self, deployment: str) -> list[Manifest]:
        """The manifests that may account for objects on the cluster, newest first.

        The list ends with the newest settled manifest: what manifests before it applied
        is either one of its objects or deleted, so an update reads one or two manifests
        however long the history.
        """
        found = []
        for name in reversed(self.repository.list_manifest_names(deployment)):
            found.append(self.repository.get_manifest(deployment, name))
            if found[-1].expanded_config.get("settled"):
                break
        return found

    def _apply(self, manifest: Manifest, plan: Plan) -> tuple[list[str], DMError | None]:
        """Apply level by level; return the error lines, and the downstream error that
        stopped the work (None when every level was attempted)."""
        records = manifest.expanded_config["resources"]
        graph = plan.graph
        live: dict[int, dict[str, Any] | None] = {}
        needed = set().union(*graph.depends_on)
        try:
            self._ensure_namespace(plan.namespace)
        except DMError as error:
            reason = f'namespace "{plan.namespace}" could not be created: {error.message}'
            _mark_rest(records, range(len(records)), reason)
            return [reason], None if isinstance(error, BadRequest) else error
        for position, level in enumerate(graph.levels):
            batch = [i for i in level if self._prepare(i, records, graph, live)]
            if batch:
                try:
                    results = self.services.resourcifier.apply(
                        [_wire(records[i]) for i in batch], plan.namespace
                    )
                except BadRequest as error:
                    # The resourcifier refused the whole batch (e.g. an unknown kind).
                    refused = {"state": State(FAILED, [error.message]).to_dict()}
                    results = [refused for _ in batch]
                except DMError as error:
                    for i in batch:
                        records[i]["state"] = State(FAILED, [error.message]).to_dict()
                    rest = [i for later in graph.levels[position:] for i in later]
                    _mark_rest(records, rest, f"not applied: {error.message}")
                    self.repository.save_manifest(manifest)
                    return _errors(records), error
                for i, result in zip(batch, results):
                    records[i]["state"] = _state_of(result)
                    if isinstance(result.get("live"), dict):
                        live[i] = result["live"]
            self.repository.save_manifest(manifest)
            for i in batch:
                if i in needed and i not in live and records[i]["state"]["status"] == CREATED:
                    live[i] = self._read_back(records[i], plan.namespace)
        return _errors(records), None

    def _prepare(
        self,
        index: int,
        records: list[dict[str, Any]],
        graph: DependencyGraph,
        live: dict[int, dict[str, Any] | None],
    ) -> bool:
        """Substitute the references of resource `index`; False (with its state set) when it
        cannot be applied because a dependency failed or a referenced value is missing."""
        record = records[index]
        blocked = sorted(
            graph.names[dep]
            for dep in graph.depends_on[index]
            if records[dep]["state"]["status"] != CREATED
        )
        if blocked:
            record["state"] = State(
                ABORTED, [f"not applied: it depends on {', '.join(blocked)}, which was not applied"]
            ).to_dict()
            return False
        values: dict[str, Any] = {}
        for reference in graph.references[index]:
            obj = live.get(graph.index_of[reference.name])
            try:
                if obj is None:
                    raise MissingValue(reference.path)
                values[reference.text] = lookup(obj, reference)
            except MissingValue:
                record["state"] = State(
                    FAILED,
                    [
                        f"reference {reference.text}: the live object of resource "
                        f"{reference.name!r} has no value at {reference.path!r}"
                    ],
                ).to_dict()
                return False
        record["properties"] = substitute(record["properties"], values)
        return True

    def _read_back(self, record: dict[str, Any], namespace: str) -> dict[str, Any] | None:
        properties = record["properties"]
        metadata = properties.get("metadata") or {}
        return self.services.resourcifier.get(
            properties["kind"], metadata["name"], metadata.get("namespace") or namespace
        )

    def _ensure_namespace(self, namespace: str) -> None:
        """Create the deployment's namespace when the cluster lacks it. It is not one of the
        deployment's resources: deleting the deployment leaves it."""
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
        state = _state_of(result[0])
        if state["status"] != CREATED:
            raise BadRequest("; ".join(state["errors"]) or "rejected")

    # Deleting

    def delete_resources(
        self, manifest: Manifest, namespace: str, indices: set[int]
    ) -> tuple[list[str], DMError | None]:
        """Delete the resources `indices` of `manifest` in reverse dependency order.

        Their states in the manifest become `Deleted` or `Failed`; returns the error lines
        and the downstream error that stopped the work, if any.
        """
        records = manifest.expanded_config["resources"]
        errors: list[str] = []
        for level in reversed(_levels_of(manifest)):
            batch = [i for i in level if i in indices]
            if not batch:
                continue
            try:
                results = self.services.resourcifier.delete(
                    [_wire(records[i]) for i in batch], namespace
                )
            except DMError as error:
                return errors + [f"deleting stopped: {error.message}"], error
            for i, result in zip(batch, results):
                state = _state_of(result)
                records[i]["state"] = state
                if state["status"] != DELETED:
                    errors += _errors([records[i]])
        return errors, None

    def remove_objects(
        self, manifests: list[Manifest], kept: set[tuple[str, str, str, str]], fallback: str
    ) -> tuple[list[str], DMError | None]:
        """Delete what `manifests` (newest first) may have put on the cluster, except `kept`.

        Objects are told apart by what they are on the cluster (group, kind, namespace,
        name), not by resource name. The newest manifest that applied or deleted an
        object decides: one a later manifest deleted is left alone, one a later manifest
        did not get to apply (`Aborted`) is still deleted. Looking past the latest
        manifest (down to a settled one) finds objects that a failed or interrupted
        operation left behind. Each
        manifest's resources go in reverse dependency order and its states are saved.
        Returns error lines and the downstream error that stopped the work, if any;
        `fallback` is the namespace of manifests that do not record one.
        """
        seen = set(kept)
        errors: list[str] = []
        for manifest in manifests:
            namespace = manifest.expanded_config.get("namespace") or fallback
            applied = applied_indices(manifest)
            gone = set()
            for index, record in enumerate(manifest.expanded_config.get("resources", [])):
                identity = object_key(record["properties"], namespace)
                if identity in seen:
                    continue
                if index in applied:
                    gone.add(index)
                    seen.add(identity)
                elif (record.get("state") or {}).get("status") == DELETED:
                    seen.add(identity)
            if not gone:
                continue
            lines, stopped = self.delete_resources(manifest, namespace, gone)
            self.repository.save_manifest(manifest)
            errors += lines
            if stopped is not None:
                return errors, stopped
        return errors, None

    # Recording

    def _finish(
        self,
        deployment: Deployment,
        manifest: Manifest,
        errors: list[str],
        stopped: DMError | None,
    ) -> Deployment:
        if not errors and stopped is None:
            # Every resource was applied and every object earlier manifests left that
            # this one lacks was deleted: clean-ups need not look past this manifest.
            manifest.expanded_config["settled"] = True
        self.repository.save_manifest(manifest)
        if errors or stopped is not None:
            deployment.state = State(FAILED, errors or [stopped.message])
        else:
            self.repository.set_type_instances(
                deployment.name, type_instances(deployment.name, manifest.name, manifest.layout)
            )
            deployment.state = State(DEPLOYED, [])
            deployment.deployed_at = utc_now()
        deployment.modified_at = utc_now()
        saved = self.repository.save_deployment(deployment)
        if stopped is not None:
            raise OperationFailed(stopped, deployment.name)
        return saved

    def recording_failure(self, deployment: Deployment):
        """A context that records any unexpected failure as the deployment's `Failed` state."""
        return _RecordFailure(self.repository, deployment)


class _RecordFailure:
    def __init__(self, repository: Repository, deployment: Deployment):
        self.repository = repository
        self.deployment = deployment

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback):
        if error is None or isinstance(error, OperationFailed):
            return False
        reason = error.message if isinstance(error, DMError) else "internal error"
        if not isinstance(error, DMError):
            log.error("operation on %s failed", self.deployment.name, exc_info=error)
        try:
            current = self.repository.get_deployment(self.deployment.name)
            current.state = State(FAILED, [reason])
            current.modified_at = utc_now()
            self.repository.save_deployment(current)
        except DMError:
            log.exception("could not record the failure of %s", self.deployment.name)
        if isinstance(error, DMError):
            raise OperationFailed(error, self.deployment.name) from None
        return False


def _check_primitive(resource: Any) -> None:
    """An expanded resource must be a named Kubernetes object."""
    if not isinstance(resource, dict) or not isinstance(resource.get("name"), str):
        raise BadRequest(
            f"the expanded configuration holds a resource without a name: {resource!r}"[:300]
        )
    properties = resource.get("properties")
    where = f"resource {resource['name']!r} (type {resource.get('type')!r})"
    if not isinstance(properties, dict):
        raise BadRequest(f"{where} has no properties: a primitive's properties are its object")
    metadata = properties.get("metadata")
    missing = [key for key in ("apiVersion", "kind") if not isinstance(properties.get(key), str)]
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        missing.append("metadata.name")
    if missing:
        raise BadRequest(f"{where} is not a Kubernetes object: it lacks {', '.join(missing)}")


def _record(resource: dict[str, Any], deployment: str) -> dict[str, Any]:
    """A manifest entry: the resource with our labels, not yet applied."""
    return {
        "name": resource["name"],
        "type": resource.get("type"),
        "properties": with_labels(resource["properties"], deployment),
        "state": None,
    }


def _wire(record: dict[str, Any]) -> dict[str, Any]:
    return {"name": record["name"], "type": record["type"], "properties": record["properties"]}


def _state_of(result: Any) -> dict[str, Any]:
    state = result.get("state") if isinstance(result, dict) else None
    if not isinstance(state, dict) or not isinstance(state.get("status"), str):
        return State(FAILED, ["the resourcifier returned no state for this resource"]).to_dict()
    return State.from_dict(state).to_dict()


def _mark_rest(records: list[dict[str, Any]], indices, reason: str) -> None:
    """Mark the resources `indices` that have no outcome yet `Aborted` for `reason`."""
    for i in indices:
        if records[i]["state"] is None or records[i]["state"]["status"] not in (CREATED, FAILED):
            records[i]["state"] = State(ABORTED, [reason]).to_dict()


def _errors(records: list[dict[str, Any]]) -> list[str]:
    """One line per resource that failed, naming it; aborted ones are implied by those."""
    lines = []
    for record in records:
        state = record.get("state") or {}
        if state.get("status") == FAILED:
            detail = "; ".join(state.get("errors") or []) or "failed"
            lines.append(f"resource {record['name']!r}: {detail}")
    return lines


def _levels_of(manifest: Manifest) -> list[list[int]]:
    count = len(manifest.expanded_config.get("resources", []))
    levels = manifest.expanded_config.get("levels")
    return levels if isinstance(levels, list) else [list(range(count))]


def applied_indices(manifest: Manifest) -> set[int]:
    """The manifest's resources that may exist on the cluster: applied, failed (perhaps
    half-applied) or of unknown outcome (the operation was interrupted)."""
    return {
        index
        for index, record in enumerate(manifest.expanded_config.get("resources", []))
        if (record.get("state") or {}).get("status", FAILED) in (CREATED, FAILED)
    }


