"""The control loop: what a cluster's controller manager and kubelets do, without running
anything. A pass reconciles the objects of the namespaces where something changed or a
timer (a pod's start, a progress deadline) is due, under the store's lock."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Callable

from . import status
from .catalog import ResourceType
from .faults import Controls
from .store import Store, WriteOptions, now

log = logging.getLogger(__name__)

CONTROLLER = "kube-controller-manager"
# A burst of writes (kubectl apply of a whole file) is reconciled once, not once per write.
SETTLE_SECONDS = 0.02
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class Settings:
    """How the simulated cluster behaves: its nodes and how long a pod takes to start."""

    pod_start_seconds: float = 0.2
    nodes: int = 1

    @property
    def node_names(self) -> list[str]:
        if self.nodes == 1:
            return ["sim-node"]
        return [f"sim-node-{number}" for number in range(1, self.nodes + 1)]


def _without_nulls(value: object) -> object:
    """The value without null or empty fields, which clients add or leave out at will
    (`kubectl rollout undo` sends `creationTimestamp: null` in a template)."""
    if isinstance(value, dict):
        pruned = {k: _without_nulls(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def template_hash(template: object) -> str:
    """A short, stable hash of a pod template, spelled as Kubernetes spells its hashes."""
    canonical = json.dumps(_without_nulls(template), sort_keys=True)
    digest = int.from_bytes(hashlib.sha256(canonical.encode()).digest()[:8], "big")
    letters = []
    for _ in range(10):
        digest, index = divmod(digest, len(_SAFE_ALPHABET))
        letters.append(_SAFE_ALPHABET[index])
    return "".join(letters)


def random_suffix() -> str:
    return "".join(secrets.choice(_SAFE_ALPHABET) for _ in range(5))


def owner_reference(owner: dict) -> dict:
    """The reference a controller puts on what it makes (or adopts)."""
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def controlled_by(obj: dict, owner: dict) -> bool:
    uid = owner["metadata"]["uid"]
    return any(ref.get("uid") == uid and ref.get("controller")
               for ref in obj["metadata"].get("ownerReferences") or [])


def is_deleting(obj: dict) -> bool:
    return "deletionTimestamp" in obj["metadata"]


def set_condition(conditions: list[dict], kind: str, state: str, reason: str, message: str,
                  update_time: bool = False, touch: bool = False) -> list[dict]:
    """`conditions` with condition `kind` set; its times move only when something changed
    (`update_time`: it has a lastUpdateTime; `touch`: that time moves even if nothing did)."""
    stamp = now()
    result = []
    found = False
    for condition in conditions:
        if condition.get("type") != kind:
            result.append(condition)
            continue
        found = True
        changed = (condition.get("status"), condition.get("reason"),
                   condition.get("message")) != (state, reason, message)
        updated = dict(condition, status=state, reason=reason, message=message)
        if condition.get("status") != state:
            updated["lastTransitionTime"] = stamp
        if update_time and (changed or touch):
            updated["lastUpdateTime"] = stamp
        result.append(updated)
    if not found:
        added = {"type": kind, "status": state, "reason": reason, "message": message,
                 "lastTransitionTime": stamp}
        if update_time:
            added["lastUpdateTime"] = stamp
        result.append(added)
    return result


class Cluster:
    """The store as the controllers see it: reads of stored objects, writes as the controller
    manager. Every method runs under the store's lock, held by the loop for a whole pass.

    `scope` is the set of namespaces a pass looks at (None: all): those where something
    changed or a timer is due. Every controller acts within one namespace, so the others
    cannot need anything."""

    def __init__(self, store: Store, controls: Controls, settings: Settings):
        self.store = store
        self.controls = controls
        self.settings = settings
        self.scope: set[str] | None = None
        self._wakes: dict[str, float] = {}
        self._options = WriteOptions(field_manager=CONTROLLER, field_validation="Ignore")

    def type(self, group: str, kind: str) -> ResourceType:
        return next(t for t in self.store.catalog.types.values()
                    if (t.group, t.kind) == (group, kind))

    def objects(self, group: str, kind: str) -> list[dict]:
        """The stored objects of a kind in the pass's scope (cluster-scoped ones: all)."""
        rt = self.type(group, kind)
        return self.store.peek(rt, self.scope if rt.namespaced else None)

    def in_namespace(self, group: str, kind: str, namespace: str) -> list[dict]:
        return self.store.peek(self.type(group, kind), {namespace})

    def controlled(self, owner: dict, group: str, kind: str) -> list[dict]:
        """Objects of a kind whose controller is `owner`, oldest first."""
        return sorted(
            (obj for obj in self.store.dependents(owner["metadata"]["uid"])
             if obj["kind"] == kind and controlled_by(obj, owner)),
            key=lambda obj: (obj["metadata"]["creationTimestamp"], obj["metadata"]["name"]))

    def create(self, group: str, kind: str, namespace: str, body: dict) -> dict | None:
        """Create an object; None when its namespace is going away (nothing new may start)."""
        try:
            return self.store.create(self.type(group, kind), namespace, body,
                                     self._options).obj
        except status.StatusError as error:
            if error.code in (403, 404, 409):
                return None
            raise

    def update(self, obj: dict, change: Callable[[dict], None]) -> None:
        """Apply `change` to a copy of the stored object's spec or metadata and store it."""
        rt = self.type(obj["apiVersion"].rpartition("/")[0], obj["kind"])
        metadata = obj["metadata"]

        def patcher(current: dict) -> dict:
            change(current)
            return current

        self.store.patch(rt, metadata.get("namespace", ""), metadata["name"], patcher,
                         self._options)

    def set_status(self, obj: dict, new_status: dict) -> None:
        """Write the status subresource when it differs from the stored one."""
        if obj.get("status") == new_status:
            return
        rt = self.type(obj["apiVersion"].rpartition("/")[0], obj["kind"])
        metadata = obj["metadata"]
        self.store.patch(rt, metadata.get("namespace", ""), metadata["name"],
                         lambda current: {**current, "status": new_status}, self._options,
                         "status")

    def delete(self, obj: dict, propagation: str = "Background") -> None:
        rt = self.type(obj["apiVersion"].rpartition("/")[0], obj["kind"])
        metadata = obj["metadata"]
        try:
            self.store.delete(rt, metadata.get("namespace", ""), metadata["name"],
                              propagation=propagation)
        except status.StatusError as error:
            if error.code != 404:
                raise

    def wake_at(self, moment: float, namespace: str) -> None:
        """Ask for a pass over `namespace` at monotonic time `moment`, even if nothing
        changes there."""
        if moment < self._wakes.get(namespace, float("inf")):
            self._wakes[namespace] = moment

    def due(self, moment: float) -> tuple[set[str], float | None]:
        """Take the namespaces whose timers are due at `moment`; return them and the time
        of the next timer."""
        due = {namespace for namespace, at in self._wakes.items() if at <= moment}
        for namespace in due:
            del self._wakes[namespace]
        return due, min(self._wakes.values(), default=None)


class ControllerLoop:
    """Runs `reconcilers` (each `fn(cluster)`) in one daemon thread until stopped."""

    def __init__(self, cluster: Cluster, reconcilers: list[Callable[[Cluster], None]]):
        self.cluster = cluster
        self.reconcilers = reconcilers
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controllers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def run_once(self, scope: set[str] | None = None) -> None:
        """One pass over every reconciler for the namespaces in `scope` (None: all),
        atomically with respect to API requests."""
        store = self.cluster.store
        with store.lock:
            self.cluster.scope = scope
            for reconcile in self.reconcilers:
                try:
                    reconcile(self.cluster)
                except Exception:  # noqa: BLE001 - one broken object must not stop the loop
                    log.exception("controller %s failed", reconcile.__name__)

    def _run(self) -> None:
        store = self.cluster.store
        seen: int | None = None
        while not self._stopped.is_set():
            version = int(store.resource_version)
            due, next_wake = self.cluster.due(time.monotonic())
            if version == seen and not due:
                wait = 1.0 if next_wake is None else next_wake - time.monotonic()
                store.wait_for_change(version, max(0.0, min(1.0, wait)))
                continue
            if version != seen:
                time.sleep(SETTLE_SECONDS)
            with store.lock:
                changed = None if seen is None else store.changed_namespaces(seen)
                # The pass's own writes (a new ReplicaSet needs pods) bring another pass; the
                # one that changes nothing lets `seen` catch up.
                seen = int(store.resource_version)
                self.run_once(None if changed is None else changed | due)
