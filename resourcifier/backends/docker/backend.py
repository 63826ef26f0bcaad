"""The docker backend: runs Kubernetes-shaped objects on a plain Docker engine.

How objects map onto the engine, one module each:

- records: every object is recorded as a small labelled docker volume.
- networks: a namespace is a bridge network; a Service is network aliases on the pods
  it selects, and host ports for NodePort/LoadBalancer.
- pods: a pod is containers sharing one network namespace; workloads keep their pods
  in line with the pod template, replacing them when it changes.
- files: ConfigMaps and Secrets reach pods as env and volume files; claims and
  emptyDirs are volumes.
- status: GET reads objects back with a status taken from the engine.

Everything the backend creates carries the `docker.deployment-manager.io/*` labels, and
it only ever lists, changes or removes engine objects that carry them.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

import docker

from dmcommon.errors import NotFound
from dmcommon.identity import ObjectKey
from resourcifier.backends.base import (
    CREATED,
    DELETED,
    FAILED,
    Backend,
    Observation,
    ResourceResult,
    closest,
)
from resourcifier.backends.docker.engine import KIND, NAME, NAMESPACE, Engine, explain
from resourcifier.backends.docker.files import Files
from resourcifier.backends.docker.kinds import (
    API_VERSIONS,
    KNOWN_UNSUPPORTED_KINDS,
    WORKLOAD_KINDS,
    canonical_kind,
    key_for,
)
from resourcifier.backends.docker.networks import Networks, publishes
from resourcifier.backends.docker.pods import Pods
from resourcifier.backends.docker.records import Records
from resourcifier.backends.docker.spec import SpecError, check_object, identify
from resourcifier.backends.docker.status import Status, shaped
from resourcifier.health import MISSING, Health


class DockerBackend(Backend):
    """A Backend over one Docker engine, reached through DOCKER_HOST or the default socket."""

    def __init__(self, config: Mapping[str, Any]):
        self._default_namespace = config.get("NAMESPACE") or "default"
        self._engine = Engine(int(config.get("DOCKER_TIMEOUT") or 60))
        self._records = Records(self._engine)
        self._networks = Networks(self._engine, self._records)
        self._files = Files(self._engine, self._records)
        self._pods = Pods(self._engine, self._networks, self._files)
        self._status = Status(self._engine, self._records, self._networks, self._pods)
        # One worker process serves requests one at a time, but a threaded server may not.
        self._lock = threading.RLock()

    def check(self) -> None:
        self._engine.check()

    def unknown_kinds(self, objects: list[dict[str, Any]]) -> dict[int, str]:
        return {
            index: _unknown(obj["kind"])
            for index, obj in enumerate(objects)
            if obj["kind"] not in API_VERSIONS and obj["kind"] not in KNOWN_UNSUPPORTED_KINDS
        }

    def apply(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        default_namespace = namespace or self._default_namespace
        namespaces_in_batch: set[str] = set()

        def apply_one(obj: dict[str, Any]) -> ResourceResult:
            key = identify(obj, default_namespace)
            check_object(obj)
            if key.kind != "Namespace" and key.namespace not in namespaces_in_batch:
                self._records.require_namespace(key.namespace)
            if key.kind == "Namespace":
                namespaces_in_batch.add(key.name)
            if dry_run:
                return ResourceResult(CREATED, live=shaped(self._records.would_store(key, obj)))
            observed = self._apply_one(key, obj)
            return ResourceResult(CREATED, live=observed.live, health=observed.health)

        # Pods start with what exists when they are created: the ConfigMaps, Secrets,
        # claims and Services of the batch go first, whatever order it lists them in.
        order = sorted(range(len(objects)),
                       key=lambda index: _kind_of(objects[index]) in WORKLOAD_KINDS)
        results = self._each([objects[index] for index in order], apply_one)
        by_index = dict(zip(order, results))
        return [by_index[index] for index in range(len(objects))]

    def delete(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        default_namespace = namespace or self._default_namespace

        def delete_one(obj: dict[str, Any]) -> ResourceResult:
            # Applying a kind the backend does not run always fails: nothing to delete.
            if obj.get("kind") not in API_VERSIONS:
                return ResourceResult(DELETED)
            key = identify(obj, default_namespace)
            if not dry_run:
                self._delete_one(key)
            return ResourceResult(DELETED)

        return self._each(objects, delete_one)

    def observe(self, objects: list[dict[str, Any]], namespace: str | None) -> list[Observation]:
        default_namespace = namespace or self._default_namespace
        observations = []
        with self._engine.errors(), self._lock:
            for obj in objects:
                try:
                    key = identify(obj, default_namespace)
                except SpecError as error:
                    # A kind the backend cannot run never has an object on the engine.
                    observations.append(Observation(None, Health(MISSING, str(error))))
                    continue
                record = self._records.read(key)
                observations.append(
                    self._status.observe(record) if record is not None
                    else Observation(None, Health(MISSING, "not found"))
                )
        return observations

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
        kind = _known_kind(kind)
        namespace = "" if kind == "Namespace" else namespace or self._default_namespace
        with self._engine.errors():
            record = self._records.read(key_for(kind, namespace, name))
            if record is not None:
                return self._status.live(record)
            if kind == "Pod":
                for pod in self._status.generated_pods(namespace):
                    if pod["metadata"]["name"] == name:
                        return pod
        where = f' in namespace "{namespace}"' if namespace else ""
        raise NotFound(f'{kind} "{name}" not found{where}')

    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        kind = _known_kind(kind)
        namespace = None if kind == "Namespace" else namespace or self._default_namespace
        with self._engine.errors():
            items = [self._status.live(record) for record in self._records.list(kind, namespace)]
            if kind == "Pod":
                items.extend(self._status.generated_pods(namespace))
        return sorted(items, key=lambda item: item["metadata"]["name"])

    def _each(
        self, objects: list[dict[str, Any]], step: Callable[[dict[str, Any]], ResourceResult]
    ) -> list[ResourceResult]:
        """Run `step` on every object; a failure is that object's result, not the batch's."""
        results = []
        with self._engine.errors(), self._lock:
            for obj in objects:
                try:
                    results.append(step(obj))
                except SpecError as error:
                    results.append(ResourceResult(FAILED, [str(error)]))
                except docker.errors.APIError as error:
                    results.append(ResourceResult(FAILED, [f"docker engine: {explain(error)}"]))
        return results

    def _apply_one(self, key: ObjectKey, obj: dict[str, Any]) -> Observation:
        previous = self._records.read(key) if key.kind == "Service" else None
        record = self._records.store(key, obj)
        if key.kind == "Namespace":
            self._networks.ensure(key.name)
        elif key.kind == "PersistentVolumeClaim":
            self._files.ensure_claim(key, obj)
        elif key.kind == "Service":
            self._networks.ensure(key.namespace)
            self._sync_namespace(key.namespace, publishes(previous) or publishes(record))
        elif key.kind in WORKLOAD_KINDS:
            self._networks.ensure(key.namespace)
            self._pods.reconcile(record)
        return self._status.observe(record)

    def _sync_namespace(self, namespace: str, ports_changed: bool) -> None:
        """After a Service changed: pods get the right published ports, then the right aliases."""
        if ports_changed:
            for record in self._records.list(namespace=namespace):
                if record["kind"] in WORKLOAD_KINDS:
                    self._pods.reconcile(record)
        self._networks.sync_aliases(namespace)

    def _delete_one(self, key: ObjectKey) -> None:
        record = self._records.read(key)
        if key.kind == "Namespace":
            self._engine.remove_labelled({NAMESPACE: key.name})
            self._engine.remove_labelled({KIND: "Namespace", NAME: key.name})
            self._networks.remove(key.name)
            return
        if key.kind in WORKLOAD_KINDS:
            self._engine.remove_labelled({KIND: key.kind, NAMESPACE: key.namespace,
                                          NAME: key.name})
        elif key.kind == "PersistentVolumeClaim" and record is not None:
            self._files.remove_claim(key, record)
        self._records.remove(key)
        if key.kind == "Service":
            self._sync_namespace(key.namespace, publishes(record))
        if not self._records.list(namespace=key.namespace) and self._records.read(
            key_for("Namespace", "", key.namespace)
        ) is None:
            self._networks.remove(key.namespace)


def _unknown(kind: str) -> str:
    message = f'no kind "{kind}" is run by the docker backend'
    near = closest(kind, API_VERSIONS)
    return f'{message}; did you mean "{near}" ({API_VERSIONS[near]})?' if near else message


def _known_kind(name: str) -> str:
    kind = canonical_kind(name)
    if kind is None:
        raise NotFound(f"kind {name!r} is not supported by the docker backend")
    return kind


def _kind_of(obj: Any) -> str | None:
    return obj.get("kind") if isinstance(obj, dict) else None
