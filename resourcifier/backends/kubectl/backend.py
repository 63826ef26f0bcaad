"""The kubectl backend: one server-side apply per batch, more calls only to place blame.

A batch goes to kubectl as one stream of objects on stdin. In the normal case that
one process applies everything and prints every live object. When some object
fails, kubectl prints no objects at all, so the batch is applied again (a no-op for
the objects already applied) printing names as it goes: the names it does not print
failed. One failure takes kubectl's error text; several are applied again one at a
time, so each carries its own message; the live objects of the good ones are read
in one more call (for a dry run, the good ones are dry-run again printing objects).

Observing a batch is one `kubectl get --ignore-not-found -f -`, or, for many objects of
one namespace, one listing by their shared labels first (see reading.py); health comes
from the live objects by the rules of `resourcifier.health`.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Iterable, Mapping

from dmcommon.errors import BadGateway, NotFound, ServiceUnavailable
from dmcommon.identity import group_of
from resourcifier.backends.base import (
    CREATED,
    DELETED,
    FAILED,
    Backend,
    Observation,
    ResourceResult,
    closest,
)
from resourcifier.backends.kubectl.kinds import ServedKinds
from resourcifier.backends.kubectl.reading import (
    LiveIndex,
    items_of,
    json_documents,
    listed_objects,
)
from resourcifier.backends.kubectl.runner import Kubectl, Outcome
from resourcifier.health import (
    PROGRESSING,
    UNKNOWN,
    WORKLOADS,
    Health,
    health_of,
    pod_selector,
    with_pods,
)

FIELD_MANAGER = "deployment-manager"

# Namespaces and CRDs go first (and are deleted last): later objects may live in them.
_FOUNDATIONS = {("", "Namespace"): 0, ("apiextensions.k8s.io", "CustomResourceDefinition"): 1}


class KubectlBackend(Backend):
    """Drives a Kubernetes cluster through the kubectl binary."""

    def __init__(self, config: Mapping[str, Any]):
        self.kubectl = Kubectl(config)
        self.kubectl.resolve_binary()
        self.default_namespace: str | None = config.get("NAMESPACE") or None
        self.kinds = ServedKinds(self.kubectl)

    def unknown_kinds(self, objects: list[dict[str, Any]]) -> dict[int, str]:
        defined = _kinds_defined_by(objects)
        return {
            index: self._unserved(obj)
            for index, obj in enumerate(objects)
            if not self._serves(obj, defined)
        }

    def _unserved(self, obj: dict[str, Any]) -> str:
        """Why the cluster has no such kind, with the nearest one it does serve."""
        message = (
            f'no kind "{obj["kind"]}" is served by the cluster for apiVersion "{obj["apiVersion"]}"'
        )
        served = self.kinds.served()
        same_kind = [info for info in served if info.kind == obj["kind"]]
        if same_kind:
            return f'{message}; did you mean apiVersion "{same_kind[0].api_version}"?'
        by_kind = {info.kind: info for info in served}
        near = closest(obj["kind"], by_kind)
        if near:
            return f'{message}; did you mean "{near}" ({by_kind[near].api_version})?'
        return message

    def apply(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        defined = _kinds_defined_by(objects)
        placed = [self._place(obj, namespace, defined) for obj in objects]
        outcome = self._apply(placed, "json", dry_run)
        if outcome.ok:
            live = LiveIndex(json_documents(outcome.stdout))
            return [_applied(live.take(obj), dry_run) for obj in placed]
        _raise_if_unreachable(outcome)
        if len(placed) == 1:
            return [ResourceResult(FAILED, outcome.error_lines())]
        named = self._apply(placed, "name", dry_run)
        _raise_if_unreachable(named)
        confirmed = _confirmed(placed, named)
        results: list[ResourceResult | None] = [None] * len(placed)
        failed = [index for index, ok in enumerate(confirmed) if not ok]
        if len(failed) == 1:
            results[failed[0]] = ResourceResult(FAILED, named.error_lines())
        else:
            for index in failed:
                results[index] = self.apply([placed[index]], None, dry_run)[0]
        good = [placed[index] for index, ok in enumerate(confirmed) if ok]
        live = LiveIndex(self._dry_run_again(good) if dry_run else self._read_live(good))
        for index, ok in enumerate(confirmed):
            if ok:
                results[index] = _applied(live.take(placed[index]), dry_run)
        return results  # type: ignore[return-value]

    def observe(self, objects: list[dict[str, Any]], namespace: str | None) -> list[Observation]:
        if not objects:
            return []
        defined = _kinds_defined_by(objects)
        placed = [self._place(obj, namespace, defined) for obj in objects]
        found = listed_objects(self.kubectl, self.kinds, placed, defined)
        rest = [index for index in range(len(placed)) if index not in found]
        unread = None
        if rest:
            outcome = self.kubectl.run(
                ["get", "--ignore-not-found", "-o", "json", "-f", "-"],
                stdin=_as_stream(_stub(placed[index]) for index in rest),
            )
            _raise_if_unreachable(outcome)
            live = LiveIndex(json_documents(outcome.stdout))
            found.update((index, live.take(placed[index])) for index in rest)
            # kubectl prints what it found even when it could not look for some.
            unread = None if outcome.ok else outcome.reason()
        observations = []
        for index in range(len(placed)):
            obj = found[index]
            if obj is None and unread is not None:
                observations.append(Observation(None, Health(UNKNOWN, unread)))
            else:
                observations.append(Observation(obj, self._health(obj)))
        return observations

    def _health(self, obj: dict[str, Any] | None) -> Health:
        """The object's health; a workload still progressing is told apart by its pods
        (one more kubectl run, made only then), so one that will never get ready is
        Degraded with its pods' reason instead of waiting for its deadline."""
        health = health_of(obj)
        if obj is None or obj.get("kind") not in WORKLOADS or health.status != PROGRESSING:
            return health
        selector = pod_selector(obj)
        namespace = (obj.get("metadata") or {}).get("namespace")
        if selector is None or not namespace:
            return health
        outcome = self.kubectl.run(["get", "pods", "-n", namespace, "-l", selector, "-o", "json"])
        if not outcome.ok:
            return health
        pods = json.loads(outcome.stdout or "{}").get("items") or []
        return with_pods(health, pods)

    def delete(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        defined = _kinds_defined_by(objects)
        results: list[ResourceResult | None] = [None] * len(objects)
        served = []
        for index, obj in enumerate(objects):
            if self._serves(obj, defined):
                served.append(index)
            else:
                # No object of a kind the cluster does not serve can exist (its CRD is gone).
                results[index] = ResourceResult(DELETED)
        stubs = [_stub(self._place(objects[index], namespace, defined)) for index in served]
        for index, result in zip(served, self._delete(stubs, dry_run), strict=True):
            results[index] = result
        return results  # type: ignore[return-value]

    def _delete(self, stubs: list[dict[str, Any]], dry_run: bool) -> list[ResourceResult]:
        if not stubs:
            return []
        # No waiting for finalizers: a namespace may take minutes to empty, and "Deleted"
        # means the cluster accepted the deletion, as `kubectl delete --wait=false` does.
        outcome = self.kubectl.run(
            [
                "delete",
                "--ignore-not-found",
                "--wait=false",
                "-o",
                "name",
                *_dry_run_flag(dry_run),
                "-f",
                "-",
            ],
            stdin=_as_stream(reversed(_ordered(stubs))),
        )
        if outcome.ok:
            return [ResourceResult(DELETED) for _ in stubs]
        _raise_if_unreachable(outcome)
        # kubectl names each object it deleted; one already gone is not named either, so
        # only a single unnamed object is surely the failed one.
        confirmed = _confirmed(stubs, outcome)
        unnamed = [index for index, ok in enumerate(confirmed) if not ok]
        results = [ResourceResult(DELETED) if ok else None for ok in confirmed]
        if len(unnamed) == 1:
            results[unnamed[0]] = ResourceResult(FAILED, outcome.error_lines())
        else:
            for index in unnamed:
                results[index] = self._delete([stubs[index]], dry_run)[0]
        return results  # type: ignore[return-value]

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
        outcome = self.kubectl.run(
            ["get", "-o", "json", *self._namespace_flag(namespace), "--", kind, name]
        )
        if outcome.ok:
            return json.loads(outcome.stdout)
        raise _read_error(outcome)

    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        outcome = self.kubectl.run(
            ["get", "-o", "json", *self._namespace_flag(namespace), "--", kind]
        )
        if outcome.ok:
            return [item for doc in json_documents(outcome.stdout) for item in items_of(doc)]
        raise _read_error(outcome)

    def check(self) -> None:
        outcome = self.kubectl.run(["version", "-o", "json"])
        if not outcome.ok:
            raise ServiceUnavailable(f"the cluster does not answer: {outcome.reason()}")

    def _apply(self, objects: list[dict[str, Any]], output: str, dry_run: bool) -> Outcome:
        return self.kubectl.run(
            [
                "apply",
                "--server-side",
                f"--field-manager={FIELD_MANAGER}",
                "--force-conflicts",
                "-o",
                output,
                *_dry_run_flag(dry_run),
                "-f",
                "-",
            ],
            stdin=_as_stream(_ordered(objects)),
        )

    def _dry_run_again(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What the server would store for `objects`, known to pass a dry run."""
        if not objects:
            return []
        return json_documents(self._apply(objects, "json", dry_run=True).stdout)

    def _read_live(self, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The live objects among `objects`, read in one call (those missing are left out)."""
        if not objects:
            return []
        outcome = self.kubectl.run(
            ["get", "-o", "json", "-f", "-"], stdin=_as_stream(_stub(obj) for obj in objects)
        )
        return json_documents(outcome.stdout)

    def _serves(self, obj: dict[str, Any], defined: Mapping[tuple[str, str], bool]) -> bool:
        """Whether the cluster serves the object's kind, or the batch defines it."""
        key = (group_of(obj["apiVersion"]), obj["kind"])
        return key in defined or self.kinds.lookup(obj["apiVersion"], obj["kind"]) is not None

    def _namespace_flag(self, namespace: str | None) -> list[str]:
        namespace = namespace or self.default_namespace
        return ["--namespace", namespace] if namespace else []

    def _place(
        self,
        obj: dict[str, Any],
        namespace: str | None,
        defined: Mapping[tuple[str, str], bool],
    ) -> dict[str, Any]:
        """A copy of `obj` in the request's (or default) namespace when its kind needs one.

        `defined` holds the scope of kinds whose CRD is in the same batch. With no
        namespace anywhere, kubectl uses its context's namespace.
        """
        key = (group_of(obj["apiVersion"]), obj["kind"])
        if key in defined:
            namespaced: bool | None = defined[key]
        else:
            info = self.kinds.lookup(obj["apiVersion"], obj["kind"])
            namespaced = None if info is None else info.namespaced
        own = obj["metadata"].get("namespace")
        namespace = namespace or self.default_namespace
        if namespaced and not own and namespace:
            placed = copy.deepcopy(obj)
            placed["metadata"]["namespace"] = namespace
            return placed
        if namespaced is False and own is not None:
            placed = copy.deepcopy(obj)
            del placed["metadata"]["namespace"]
            return placed
        return obj


def _applied(live: dict[str, Any] | None, dry_run: bool) -> ResourceResult:
    """The result of an object kubectl applied: its live object and, unless it was only a
    dry run, its health."""
    health = health_of(live) if live is not None and not dry_run else None
    return ResourceResult(CREATED, live=live, health=health)


def _raise_if_unreachable(outcome: Outcome) -> None:
    if outcome.unreachable:
        raise BadGateway(f"the cluster cannot be reached: {outcome.reason()}")


def _confirmed(objects: list[dict[str, Any]], outcome: Outcome) -> list[bool]:
    """Which objects kubectl named on stdout (`-o name`) as done.

    Names carry no namespace: when a name is printed fewer times than the batch holds
    it, none of those objects counts as confirmed.
    """
    printed = [line.strip() for line in outcome.stdout.splitlines()]
    names = [_printed_name(obj) for obj in objects]
    return [printed.count(name) == names.count(name) for name in names]


def _read_error(outcome: Outcome) -> Exception:
    """The HTTP error for a failed `kubectl get`."""
    if outcome.unreachable:
        return BadGateway(f"the cluster cannot be reached: {outcome.reason()}")
    text = outcome.reason()
    if "NotFound" in text or "not found" in text or "doesn't have a resource type" in text:
        return NotFound(text)
    return BadGateway(text)


def _dry_run_flag(dry_run: bool) -> list[str]:
    return ["--dry-run=server"] if dry_run else []


def _ordered(objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        objects,
        key=lambda obj: _FOUNDATIONS.get(
            (group_of(obj["apiVersion"]), obj["kind"]), len(_FOUNDATIONS)
        ),
    )


def _as_stream(objects: Iterable[dict[str, Any]]) -> str:
    """Objects one after another: kubectl validates each by its own kind, which it
    cannot do for a `List` wrapper on servers without an OpenAPI v2 document."""
    return "\n".join(json.dumps(obj) for obj in objects)


def _stub(obj: dict[str, Any]) -> dict[str, Any]:
    """All kubectl needs to delete an object: what it is and where."""
    metadata = {
        key: value for key, value in obj["metadata"].items() if key in ("name", "namespace")
    }
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": metadata}


def _printed_name(obj: dict[str, Any]) -> str:
    """How `kubectl -o name` prints an object: `deployment.apps/web`, `configmap/app`."""
    group = group_of(obj["apiVersion"])
    return f"{obj['kind'].lower()}{'.' + group if group else ''}/{obj['metadata']['name']}"


def _kinds_defined_by(objects: list[dict[str, Any]]) -> dict[tuple[str, str], bool]:
    """(group, kind) -> namespaced, for every CustomResourceDefinition in the batch."""
    defined = {}
    for obj in objects:
        if (group_of(obj["apiVersion"]), obj["kind"]) == (
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
        ):
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            if isinstance(spec.get("group"), str) and isinstance(names.get("kind"), str):
                defined[spec["group"], names["kind"]] = spec.get("scope") != "Cluster"
    return defined
