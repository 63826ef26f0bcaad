"""The simulator's state: objects, resource versions, watch events, behind one lock.

One module because it is one class: every write changes objects, field managers, the
ownership indexes, the resource version and the event history together under the same
lock, and a watch reads that history under it too (as the controllers read the objects).
The rules it applies (defaults, validation, field ownership, patches) each live in their
own module.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import takewhile
from typing import Callable, Iterator

from . import status
from .catalog import Catalog, ResourceType, crd_resource_types
from .defaults import ClusterIPs, apply_defaults
from .fields import unknown_fields
from .managed import Manager, record_update, server_side_apply
from .validation import shape_causes, validate

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
EVENT_HISTORY = 10_000
NAMESPACE_GRACE_SECONDS = 1.0
SYSTEM_METADATA = ("uid", "creationTimestamp", "generation", "deletionTimestamp")

Key = tuple[str, str, str, str]  # group, plural, namespace ("" when cluster-scoped), name


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """Query options every write honours."""

    dry_run: bool = False
    field_manager: str | None = None
    field_validation: str = "Warn"  # Strict | Warn | Ignore, as in fieldValidation=
    force: bool = False


@dataclass
class WriteResult:
    obj: dict
    created: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class Event:
    resource_version: int
    group: str
    plural: str
    type: str
    obj: dict


def _copy(obj: dict) -> dict:
    return copy.deepcopy(obj)


def _without_volatile(obj: dict) -> dict:
    """The object minus what changes on every write, to tell a no-op update from a real one."""
    trimmed = dict(obj)
    metadata = dict(trimmed.get("metadata") or {})
    for name in ("resourceVersion", "managedFields", "generation"):
        metadata.pop(name, None)
    trimmed["metadata"] = metadata
    return trimmed


def _crd_group_plural(crd: dict) -> tuple[str, str]:
    """The group and plural a CustomResourceDefinition serves its objects under."""
    spec = crd.get("spec") or {}
    return spec.get("group"), (spec.get("names") or {}).get("plural")


def _spec_part(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Store:
    """All objects of all kinds; every method is atomic under one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.reset()

    def reset(self) -> None:
        """Forget every object and event and start over with the initial namespaces."""
        with self._lock:
            self.catalog = Catalog.builtin()
            self._objects: dict[Key, dict] = {}
            self._managers: dict[Key, list[Manager]] = {}
            self._events: deque[Event] = deque(maxlen=EVENT_HISTORY)
            self._version = 0
            # uid -> key of every object, owned object -> its owners' uids, and owner uid ->
            # its dependents: what the controllers need without scanning every object.
            self._uids: dict[str, Key] = {}
            # (group, plural, namespace) -> keys, so a controller reads one kind of one
            # namespace without walking every object.
            self._placed: dict[tuple[str, str, str], set[Key]] = {}
            self._owners_of: dict[Key, set[str]] = {}
            self._dependents: dict[str, set[Key]] = {}
            self._foreground: set[Key] = set()  # deleted in the foreground, dependents remain
            self._cluster_ips = ClusterIPs()
            namespaces = self.catalog.lookup("", "v1", "namespaces")
            for name in INITIAL_NAMESPACES:
                body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
                self.create(namespaces, "", body, WriteOptions(field_manager="kube-apiserver"))
            self._changed.notify_all()

    # --- reads -----------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._version)

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict:
        with self._lock:
            obj = self._objects.get(self._key(rt, namespace, name))
            if obj is None:
                raise status.not_found(rt.plural, rt.group, name)
            return self._as_version(rt, obj)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_match: Callable[[dict], bool],
        field_match: Callable[[dict], bool],
    ) -> tuple[list[dict], str]:
        """Matching objects sorted by namespace and name, and the list's resourceVersion."""
        with self._lock:
            # Filter before sorting: the store holds every kind, a list wants one.
            matching = {
                key: obj
                for key, obj in self._objects.items()
                if key[:2] == (rt.group, rt.plural)
                and (namespace is None or key[2] == namespace)
                and label_match((obj["metadata"].get("labels")) or {})
                and field_match(obj)
            }
            items = [self._as_version(rt, matching[key]) for key in sorted(matching)]
            return items, str(self._version)

    @property
    def lock(self) -> threading.RLock:
        """The store's lock: controllers hold it for a whole pass so it sees one state."""
        return self._lock

    def peek(self, rt: ResourceType, namespaces: set[str] | None = None) -> list[dict]:
        """The stored objects of one resource (in `namespaces`, when given), not copied: read
        them under `lock`, never change them."""
        with self._lock:
            if namespaces is None:
                places = [place for place in self._placed if place[:2] == (rt.group, rt.plural)]
            else:
                places = [(rt.group, rt.plural, namespace) for namespace in namespaces]
            return [self._objects[key] for place in places
                    for key in sorted(self._placed.get(place, ()))]

    def changed_namespaces(self, since: int) -> set[str] | None:
        """The namespaces ("" for cluster-scoped objects) of every change after resource
        version `since`; None when the history no longer reaches back that far."""
        with self._lock:
            if since > self._version or (self._events and
                                         self._events[0].resource_version > since + 1):
                return None
            return {event.obj["metadata"].get("namespace", "")
                    for event in self._events_since(since)}

    def by_uid(self, uid: str) -> dict | None:
        """The stored object with this uid (not copied), if it exists."""
        with self._lock:
            key = self._uids.get(uid)
            return self._objects.get(key) if key else None

    def dependents(self, uid: str) -> list[dict]:
        """Stored objects (not copied) that name `uid` among their ownerReferences."""
        with self._lock:
            return [self._objects[key] for key in sorted(self._dependents.get(uid, ()))]

    def owned(self, namespaces: set[str] | None = None) -> list[dict]:
        """Stored objects (not copied) that have ownerReferences (in `namespaces`, if given)."""
        with self._lock:
            return [self._objects[key] for key in sorted(self._owners_of)
                    if namespaces is None or key[2] in namespaces]

    def deleting_in_foreground(self) -> list[dict]:
        """Stored objects (not copied) waiting for their dependents to be deleted."""
        with self._lock:
            return [self._objects[key] for key in sorted(self._foreground)]

    def wait_for_change(self, version: int, timeout: float) -> int:
        """Block until the resource version passes `version` or `timeout` ends; return it."""
        with self._lock:
            if self._version == version:
                self._changed.wait(timeout)
            return self._version

    def _as_version(self, rt: ResourceType, obj: dict) -> dict:
        answer = _copy(obj)
        answer["apiVersion"] = rt.api_version
        return answer

    def _key(self, rt: ResourceType, namespace: str, name: str) -> Key:
        return (rt.group, rt.plural, namespace if rt.namespaced else "", name)

    # --- writes ----------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: object,
               options: WriteOptions) -> WriteResult:
        obj = self._check_body(rt, namespace, body)
        metadata = obj["metadata"]
        if not metadata.get("name") and metadata.get("generateName"):
            metadata["name"] = metadata["generateName"] + secrets.token_hex(3)[:5]
        warnings = self._admit(rt, obj, options)
        with self._lock:
            self._require_namespace(rt, namespace, metadata["name"])
            key = self._key(rt, namespace, metadata["name"])
            if key in self._objects:
                raise status.already_exists(rt.plural, rt.group, metadata["name"])
            for name in ("resourceVersion", "uid", "generation", "creationTimestamp"):
                metadata.pop(name, None)
            managers: list[Manager] = []
            record_update(managers, options.field_manager or "unknown", rt.api_version, now(),
                          None, obj)
            stored = self._commit(rt, key, None, obj, managers, options)
            return WriteResult(stored, created=True, warnings=warnings)

    def replace(self, rt: ResourceType, namespace: str, name: str, body: object,
                options: WriteOptions, subresource: str = "") -> WriteResult:
        obj = self._check_body(rt, namespace, body, name)
        with self._lock:
            key = self._key(rt, namespace, name)
            current = self._objects.get(key)
            if current is None:
                raise status.not_found(rt.plural, rt.group, name)
            return self._update(rt, key, current, obj, options, subresource)

    def patch(self, rt: ResourceType, namespace: str, name: str,
              patcher: Callable[[dict], object], options: WriteOptions,
              subresource: str = "") -> WriteResult:
        """Apply `patcher(current) -> new object` atomically (merge, JSON, strategic patches)."""
        with self._lock:
            key = self._key(rt, namespace, name)
            current = self._objects.get(key)
            if current is None:
                raise status.not_found(rt.plural, rt.group, name)
            obj = self._check_body(rt, namespace, patcher(self._as_version(rt, current)), name)
            return self._update(rt, key, current, obj, options, subresource)

    def apply(self, rt: ResourceType, namespace: str, name: str, applied: object,
              options: WriteOptions, subresource: str = "") -> WriteResult:
        """Server-side apply: create the object or merge the manager's configuration into it."""
        config = self._check_body(rt, namespace, applied, name)
        if not options.field_manager:
            raise status.StatusError(
                422, "PATCH, application/apply-patch+yaml requires fieldManager to be set",
                "Invalid")
        for field_name in ("resourceVersion", "uid", "managedFields"):
            config["metadata"].pop(field_name, None)
        with self._lock:
            key = self._key(rt, namespace, name)
            current = self._objects.get(key)
            managers = self._managers_copy(key)
            merged = server_side_apply(managers, options.field_manager, rt.api_version, now(),
                                       _copy(current) if current else None, config,
                                       options.force)
            merged = self._check_body(rt, namespace, merged, name)
            if current is None:
                self._require_namespace(rt, namespace, name)
                warnings = self._admit(rt, merged, options)
                stored = self._commit(rt, key, None, merged, managers, options)
                return WriteResult(stored, created=True, warnings=warnings)
            return self._update(rt, key, current, merged, options, subresource, managers)

    def delete(self, rt: ResourceType, namespace: str, name: str, dry_run: bool = False,
               precondition: dict | None = None, propagation: str = "Background") -> dict:
        """Remove the object (and, for a namespace, everything in it); return it as it was.

        `propagation` decides its dependents' fate: Background leaves them to the garbage
        collector, Orphan drops their owner reference, Foreground keeps the object (marked
        with a deletionTimestamp and the foregroundDeletion finalizer) until the collector
        has deleted them."""
        with self._lock:
            key = self._key(rt, namespace, name)
            current = self._objects.get(key)
            if current is None:
                raise status.not_found(rt.plural, rt.group, name)
            for field_name in ("uid", "resourceVersion"):
                wanted = (precondition or {}).get(field_name)
                if wanted and wanted != current["metadata"].get(field_name):
                    raise status.conflict(
                        rt.plural, rt.group, name,
                        f"Precondition failed: {field_name.capitalize()} in precondition: "
                        f"{wanted}, {field_name.capitalize()} in object meta: "
                        f"{current['metadata'].get(field_name)}",
                    )
            gone = self._as_version(rt, current)
            gone["metadata"]["deletionTimestamp"] = now()
            if dry_run:
                return gone
            if rt.kind == "Namespace":
                return self._terminate_namespace(rt, key, current)
            uid = current["metadata"]["uid"]
            if propagation == "Foreground" and self.dependents(uid):
                return self._mark_for_foreground_deletion(rt, key, current)
            if propagation == "Orphan":
                self._orphan_dependents(uid)
            if rt.kind == "CustomResourceDefinition":
                self._drop_crd(current)
            self._remove(key)
            self._finish_namespace_if_empty(key[2])
            return gone

    def _mark_for_foreground_deletion(self, rt: ResourceType, key: Key, current: dict) -> dict:
        marked = _copy(current)
        metadata = marked["metadata"]
        metadata.setdefault("deletionTimestamp", now())
        finalizers = metadata.setdefault("finalizers", [])
        if "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        self._store_change(rt, key, marked)
        self._foreground.add(key)
        return self._as_version(rt, marked)

    def _orphan_dependents(self, uid: str) -> None:
        for dependent in self.dependents(uid):
            orphan = _copy(dependent)
            metadata = orphan["metadata"]
            metadata["ownerReferences"] = [ref for ref in metadata["ownerReferences"]
                                           if ref.get("uid") != uid]
            if not metadata["ownerReferences"]:
                del metadata["ownerReferences"]
            self._store_change(self._type_of(dependent), self._key_of(dependent), orphan)

    def _type_of(self, obj: dict) -> ResourceType:
        group, _, version = obj["apiVersion"].rpartition("/")
        return next(t for t in self.catalog.in_group_version(group, version)
                    if t.kind == obj["kind"])

    def _key_of(self, obj: dict) -> Key:
        metadata = obj["metadata"]
        return self._uids[metadata["uid"]]

    def _store_change(self, rt: ResourceType, key: Key, obj: dict) -> None:
        """Store a changed object as is (no admission, no field managers) and tell watchers."""
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        self._objects[key] = obj
        self._index(key, obj)
        self._events.append(Event(self._version, rt.group, rt.plural, "MODIFIED", _copy(obj)))
        self._changed.notify_all()

    def _index(self, key: Key, obj: dict) -> None:
        self._unindex(key)
        self._placed.setdefault(key[:3], set()).add(key)
        metadata = obj["metadata"]
        self._uids[metadata["uid"]] = key
        owners = {ref.get("uid") for ref in metadata.get("ownerReferences") or []}
        if owners:
            self._owners_of[key] = owners
            for uid in owners:
                self._dependents.setdefault(uid, set()).add(key)

    def _unindex(self, key: Key) -> None:
        for uid in self._owners_of.pop(key, ()):
            dependents = self._dependents[uid]
            dependents.discard(key)
            if not dependents:
                del self._dependents[uid]

    def _terminate_namespace(self, rt: ResourceType, key: Key, namespace: dict) -> dict:
        """Mark the namespace Terminating; it goes, with its objects, once empty or after a grace
        period. Like a real cluster, this lets `kubectl delete -f` delete the namespace first and
        its objects afterwards without NotFound status."""
        metadata = namespace["metadata"]
        if "deletionTimestamp" not in metadata:
            metadata["deletionTimestamp"] = now()
            namespace["status"] = {"phase": "Terminating"}
            self._version += 1
            metadata["resourceVersion"] = str(self._version)
            self._events.append(Event(self._version, "", "namespaces", "MODIFIED",
                                      _copy(namespace)))
            self._changed.notify_all()
            timer = threading.Timer(NAMESPACE_GRACE_SECONDS, self._finish_namespace,
                                    (key[3], metadata["uid"]))
            timer.daemon = True
            timer.start()
        answer = self._as_version(rt, namespace)
        self._finish_namespace_if_empty(key[3])
        return answer

    def _finish_namespace_if_empty(self, name: str) -> None:
        namespace = self._objects.get(("", "namespaces", "", name))
        if namespace and "deletionTimestamp" in namespace["metadata"] and not any(
            k[2] == name for k in self._objects
        ):
            self._remove(("", "namespaces", "", name))

    def _finish_namespace(self, name: str, uid: str) -> None:
        with self._lock:
            key = ("", "namespaces", "", name)
            namespace = self._objects.get(key)
            if namespace is None or namespace["metadata"]["uid"] != uid:
                return
            for other in [k for k in self._objects if k[2] == name]:
                self._remove(other)
            self._remove(key)

    def _remove(self, key: Key) -> None:
        obj = self._objects.pop(key)
        self._managers.pop(key, None)
        self._uids.pop(obj["metadata"]["uid"], None)
        self._unindex(key)
        place = self._placed[key[:3]]
        place.discard(key)
        if not place:
            del self._placed[key[:3]]
        self._foreground.discard(key)
        self._version += 1
        gone = _copy(obj)
        gone["metadata"]["resourceVersion"] = str(self._version)
        self._events.append(Event(self._version, key[0], key[1], "DELETED", gone))
        self._changed.notify_all()

    def _drop_crd(self, crd: dict) -> None:
        group, plural = _crd_group_plural(crd)
        for key in [k for k in self._objects if (k[0], k[1]) == (group, plural)]:
            self._remove(key)
        self.catalog.remove_group_resource(group, plural)

    # --- write pipeline --------------------------------------------------------------------

    def _check_body(self, rt: ResourceType, namespace: str, body: object,
                    name: str | None = None) -> dict:
        """The request body as an object of this kind, or 400 as the API server answers."""
        if not isinstance(body, dict):
            raise status.bad_request(f"the body of the request is not a {rt.kind} object")
        obj = _copy(body)
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind not in (None, "", rt.kind):
            raise status.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        if api_version not in (None, "", rt.api_version):
            raise status.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        metadata = obj.get("metadata")
        if metadata is None:
            metadata = obj["metadata"] = {}
        if not isinstance(metadata, dict):
            raise status.bad_request("metadata must be an object")
        if rt.namespaced:
            if metadata.get("namespace") not in (None, "", namespace):
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request")
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if name is not None:
            if metadata.get("name") not in (None, "", name):
                raise status.bad_request(
                    f"the name of the object ({metadata.get('name')}) does not match the name on "
                    f"the URL ({name})")
            metadata["name"] = name
        return obj

    def _admit(self, rt: ResourceType, obj: dict, options: WriteOptions) -> list[str]:
        """Unknown-field handling and validation; returns the warnings to send back."""
        unknown = unknown_fields(rt, obj)
        warnings = []
        if unknown and options.field_validation == "Strict":
            listed = ", ".join(f'unknown field "{field.path}"' for field in unknown)
            raise status.bad_request(
                f"{rt.kind} in version \"{rt.version}\" cannot be handled as a {rt.kind}: "
                f"strict decoding error: {listed}")
        if unknown and options.field_validation != "Ignore":
            warnings = [f'unknown field "{field.path}"' for field in unknown]
        for unknown_field in unknown:
            unknown_field.drop()
        cannot_handle = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}'
        shapes = shape_causes(rt, obj)
        if shapes:
            raise status.bad_request(
                f"{cannot_handle}: " + "; ".join(f"{path}: {why}" for path, why in shapes))
        try:
            causes = validate(rt, obj)
        except (AttributeError, TypeError, KeyError):
            # Deeper fields of the wrong JSON type (a list where an object belongs, ...).
            raise status.bad_request(f"{cannot_handle}: a field has the wrong type") from None
        if causes:
            raise status.invalid(rt.kind, rt.group, str(obj["metadata"].get("name", "")), causes)
        return warnings

    def _update(self, rt: ResourceType, key: Key, current: dict, obj: dict,
                options: WriteOptions, subresource: str,
                managers: list[Manager] | None = None) -> WriteResult:
        metadata = obj["metadata"]
        wanted_version = metadata.get("resourceVersion")
        if wanted_version and wanted_version != current["metadata"]["resourceVersion"]:
            raise status.conflict(rt.plural, rt.group, key[3], status.STALE_VERSION)
        if subresource == "status":
            obj = {**_copy(current), "status": obj.get("status")}
        elif "status" in current and rt.kind not in ("Namespace",):
            obj["status"] = _copy(current["status"])
        warnings = self._admit(rt, obj, options)
        for name in SYSTEM_METADATA:
            if name in current["metadata"]:
                obj["metadata"][name] = current["metadata"][name]
        if rt.has_spec and _spec_part(obj) != _spec_part(current):
            obj["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if managers is None:
            managers = self._managers_copy(key)
            record_update(managers, options.field_manager or "unknown", rt.api_version, now(),
                          current, obj, subresource)
        stored = self._commit(rt, key, current, obj, managers, options)
        return WriteResult(stored, warnings=warnings)

    def _managers_copy(self, key: Key) -> list[Manager]:
        """The object's field managers, copied so a write that fails leaves them untouched."""
        return [manager.copy() for manager in self._managers.get(key, [])]

    def _commit(self, rt: ResourceType, key: Key, current: dict | None, obj: dict,
                managers: list[Manager], options: WriteOptions) -> dict:
        metadata = obj["metadata"]
        if current is None:
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = now()
            if rt.has_spec:
                metadata["generation"] = 1
        try:
            apply_defaults(rt.kind, obj, self._cluster_ips, current)
        except (AttributeError, TypeError, KeyError):
            raise status.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: a field '
                "has the wrong type") from None
        metadata["managedFields"] = [m.to_dict() for m in managers]
        if current is not None and _without_volatile(obj) == _without_volatile(current):
            return self._as_version(rt, current)
        if options.dry_run:
            metadata["resourceVersion"] = current["metadata"]["resourceVersion"] if current else ""
            return self._as_version(rt, obj)
        if rt.kind == "CustomResourceDefinition":
            self._serve_crd(obj, current)
        self._version += 1
        metadata["resourceVersion"] = str(self._version)
        self._objects[key] = obj
        self._index(key, obj)
        self._managers[key] = managers
        event_type = "ADDED" if current is None else "MODIFIED"
        self._events.append(Event(self._version, rt.group, rt.plural, event_type, _copy(obj)))
        self._changed.notify_all()
        return self._as_version(rt, obj)

    def _serve_crd(self, crd: dict, old: dict | None) -> None:
        new_types = crd_resource_types(crd)
        for existing in self.catalog.types.values():
            clash = [t for t in new_types if (t.group, t.plural) == (existing.group,
                                                                      existing.plural)]
            if clash and existing.fields is not None:
                raise status.StatusError(
                    409, f"{existing.qualified_plural} is a built-in resource", "Conflict")
        if old is not None:
            self.catalog.remove_group_resource(*_crd_group_plural(old))
        for resource_type in new_types:
            self.catalog.add(resource_type)

    def _require_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not rt.namespaced:
            return
        found = self._objects.get(("", "namespaces", "", namespace))
        if found is None:
            raise status.namespace_not_found(namespace)
        if "deletionTimestamp" in found["metadata"]:
            raise status.StatusError(
                403, f'{rt.qualified_plural} "{name}" is forbidden: unable to create new content '
                f"in namespace {namespace} because it is being terminated", "Forbidden",
                {"name": name, "kind": rt.plural})

    # --- watch -----------------------------------------------------------------------------

    def watch(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_match: Callable[[dict], bool],
        field_match: Callable[[dict], bool],
        since: str | None,
        timeout: float,
        initial_events: bool = False,
    ) -> Iterator[dict | None]:
        """Watch events as {type, object} after resourceVersion `since` (or from now, with
        synthetic ADDED events for existing objects). A bad or expired `since` fails here, before
        any event; the iterator yields None every second while idle so the caller can notice a
        closed connection.

        `initial_events` is a streaming list (`sendInitialEvents=true`, client-go's WatchList):
        the current objects, then a BOOKMARK marking the end of them, then the changes."""
        with self._lock:
            if since in (None, "", "0") or initial_events:
                items, version = self.list(rt, namespace, label_match, field_match)
                initial = [{"type": "ADDED", "object": i} for i in items]
                if initial_events:
                    initial.append({"type": "BOOKMARK", "object": {
                        "kind": rt.kind, "apiVersion": rt.api_version,
                        "metadata": {"resourceVersion": version, "annotations": {
                            "k8s.io/initial-events-end": "true"}}}})
                return self._events_after(rt, namespace, label_match, field_match, int(version),
                                          initial, timeout)
            try:
                last = int(since)
            except ValueError:
                raise status.bad_request(f"invalid resourceVersion {since!r}") from None
            oldest = self._events[0].resource_version if self._events else self._version + 1
            if last + 1 < oldest and last < self._version:
                raise status.StatusError(
                    410, f"too old resource version: {last} ({oldest - 1})", "Expired")
            return self._events_after(rt, namespace, label_match, field_match, last, [], timeout)

    def _events_since(self, last: int) -> list[Event]:
        """Events newer than `last`, oldest first. They sit at the end of the history, so this
        walks back only over them rather than over the whole history, under the lock."""
        newer = takewhile(lambda event: event.resource_version > last, reversed(self._events))
        return list(newer)[::-1]

    def _events_after(self, rt: ResourceType, namespace: str | None,
                      label_match: Callable[[dict], bool], field_match: Callable[[dict], bool],
                      last: int, initial: list[dict], timeout: float) -> Iterator[dict | None]:
        def wanted(event: Event) -> bool:
            metadata = event.obj["metadata"]
            return (
                (event.group, event.plural) == (rt.group, rt.plural)
                and (namespace is None or metadata.get("namespace", "") == namespace)
                and label_match(metadata.get("labels") or {})
                and field_match(event.obj)
            )

        yield from initial
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                pending = self._events_since(last)
                if not pending:
                    self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
                    pending = self._events_since(last)
            if not pending:
                yield None
                continue
            for event in pending:
                last = event.resource_version
                if wanted(event):
                    yield {"type": event.type, "object": self._as_version(rt, event.obj)}
