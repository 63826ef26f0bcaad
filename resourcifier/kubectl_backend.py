"""The kubectl backend: one server-side apply per batch, per-object calls only to place blame.

A batch goes to kubectl as one List on stdin. kubectl applies the objects one after
another and prints the ones that succeeded; whatever is missing from its answer failed.
One failure takes kubectl's whole error text; several are retried one object at a
time, so each carries its own message and every good object is applied.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable, Iterable, Mapping

from dmcommon.errors import BadGateway, NotFound, ServiceUnavailable
from resourcifier.backend import CREATED, DELETED, FAILED, Backend, ResourceResult
from resourcifier.discovery import Discovery, group_of
from resourcifier.kubectl import Kubectl, Outcome

FIELD_MANAGER = "deployment-manager"

# Namespaces and CRDs go first (and are deleted last): later objects may live in them.
_FOUNDATIONS = {("", "Namespace"): 0, ("apiextensions.k8s.io", "CustomResourceDefinition"): 1}

Key = tuple[str, str, str, str]


class KubectlBackend(Backend):
    """Drives a Kubernetes cluster through the kubectl binary."""

    def __init__(self, config: Mapping[str, Any]):
        self.kubectl = Kubectl(config)
        self.kubectl.resolve_binary()
        self.default_namespace: str | None = config.get("NAMESPACE") or None
        self.discovery = Discovery(self.kubectl)
        # kubectl's own wait ends before the call's timeout, so a slow finalizer is a
        # per-resource failure with kubectl's message rather than a 504 for the batch.
        self.delete_wait_seconds = max(1, int(self.kubectl.timeout * 0.8))

    def unknown_kinds(self, objects: list[dict[str, Any]]) -> dict[int, str]:
        defined = set(_kinds_defined_by(objects))
        problems = {}
        for index, obj in enumerate(objects):
            group, kind = group_of(obj["apiVersion"]), obj["kind"]
            if (group, kind) in defined or self.discovery.lookup(obj["apiVersion"], kind):
                continue
            problems[index] = (
                f"unknown kind {kind!r} in API group {group or 'core'!r} "
                f"(apiVersion {obj['apiVersion']!r}): the cluster does not serve it"
            )
        return problems

    def apply(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        placed = [self._place(obj, namespace) for obj in objects]
        args = [
            "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "--force-conflicts",
            "-o", "json", *_dry_run_flag(dry_run), "-f", "-",
        ]

        def run(batch: list[dict[str, Any]]) -> tuple[Outcome, list[ResourceResult | None]]:
            outcome = self.kubectl.run(args, stdin=_as_list(_ordered(batch)))
            live = _LiveIndex(_json_documents(outcome.stdout))
            found = [live.take(obj) for obj in batch]
            if outcome.ok:
                return outcome, [ResourceResult(CREATED, live=obj) for obj in found]
            return outcome, [ResourceResult(CREATED, live=obj) if obj else None for obj in found]

        return _run_with_blame(placed, run)

    def delete(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        stubs = [_stub(self._place(obj, namespace)) for obj in objects]
        args = [
            "delete", "--ignore-not-found", "--wait=true",
            f"--timeout={self.delete_wait_seconds}s", "-o", "name", *_dry_run_flag(dry_run),
            "-f", "-",
        ]

        def run(batch: list[dict[str, Any]]) -> tuple[Outcome, list[ResourceResult | None]]:
            outcome = self.kubectl.run(args, stdin=_as_list(reversed(_ordered(batch))))
            if outcome.ok:
                return outcome, [ResourceResult(DELETED) for _ in batch]
            # `-o name` prints each deleted object; one already gone prints nothing and
            # is indistinguishable from a failure, so it is left for the per-object retry.
            printed = [line.split(" ")[0] for line in outcome.stdout.splitlines()]
            names = [_printed_name(obj) for obj in batch]
            return outcome, [
                ResourceResult(DELETED) if printed.count(name) == 1 and names.count(name) == 1
                else None
                for name in names
            ]

        return _run_with_blame(stubs, run)

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
        outcome = self.kubectl.run(["get", "-o", "json", *self._namespace_flag(namespace),
                                    "--", kind, name])
        if outcome.ok:
            return json.loads(outcome.stdout)
        raise _read_error(outcome)

    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        outcome = self.kubectl.run(["get", "-o", "json", *self._namespace_flag(namespace),
                                    "--", kind])
        if outcome.ok:
            return [item for doc in _json_documents(outcome.stdout) for item in _items(doc)]
        raise _read_error(outcome)

    def check(self) -> None:
        outcome = self.kubectl.run(["version", "-o", "json"])
        if not outcome.ok:
            raise ServiceUnavailable(f"the cluster does not answer: {outcome.reason()}")

    def _namespace_flag(self, namespace: str | None) -> list[str]:
        namespace = namespace or self.default_namespace
        return ["--namespace", namespace] if namespace else []

    def _place(self, obj: dict[str, Any], namespace: str | None) -> dict[str, Any]:
        """A copy of `obj` in the request's (or default) namespace when its kind needs one.

        With no namespace anywhere, kubectl uses its context's namespace.
        """
        info = self.discovery.lookup(obj["apiVersion"], obj["kind"])
        own = obj["metadata"].get("namespace")
        namespace = namespace or self.default_namespace
        if info is not None and info.namespaced and not own and namespace:
            placed = copy.deepcopy(obj)
            placed["metadata"]["namespace"] = namespace
            return placed
        if info is not None and not info.namespaced and own is not None:
            placed = copy.deepcopy(obj)
            del placed["metadata"]["namespace"]
            return placed
        return obj


Attempt = Callable[[list[dict[str, Any]]], tuple[Outcome, list[ResourceResult | None]]]


def _run_with_blame(objects: list[dict[str, Any]], attempt: Attempt) -> list[ResourceResult]:
    """Run the whole batch once; give each object kubectl didn't confirm its own error.

    Unconfirmed objects are retried alone (one kubectl each) unless there is just one,
    which then owns the batch's error text.
    """
    outcome, results = attempt(objects)
    pending = [index for index, result in enumerate(results) if result is None]
    if not pending:
        return results  # type: ignore[return-value]
    if outcome.unreachable:
        raise BadGateway(f"the cluster cannot be reached: {outcome.reason()}")
    if len(pending) == 1:
        results[pending[0]] = ResourceResult(FAILED, outcome.error_lines())
        return results  # type: ignore[return-value]
    for index in pending:
        results[index] = _run_with_blame([objects[index]], attempt)[0]
    return results  # type: ignore[return-value]


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
    return sorted(objects, key=lambda obj: _FOUNDATIONS.get((group_of(obj["apiVersion"]),
                                                             obj["kind"]), len(_FOUNDATIONS)))


def _as_list(objects: Iterable[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})


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


def _kinds_defined_by(objects: list[dict[str, Any]]) -> Iterable[tuple[str, str]]:
    """(group, kind) of every CustomResourceDefinition in the batch."""
    for obj in objects:
        if (group_of(obj["apiVersion"]), obj["kind"]) == ("apiextensions.k8s.io",
                                                           "CustomResourceDefinition"):
            spec = obj.get("spec") or {}
            names = spec.get("names") or {}
            if isinstance(spec.get("group"), str) and isinstance(names.get("kind"), str):
                yield spec["group"], names["kind"]


def _json_documents(text: str) -> list[dict[str, Any]]:
    """Every JSON value in kubectl's output, which may print several one after another."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    text = text.strip()
    while position < len(text):
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            break
        if isinstance(value, dict):
            documents.append(value)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


def _items(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A List's items, or the document itself."""
    if isinstance(document.get("items"), list) and document.get("kind", "").endswith("List"):
        return [item for item in document["items"] if isinstance(item, dict)]
    return [document]


class _LiveIndex:
    """Live objects from kubectl's answer, found again by what identifies them."""

    def __init__(self, documents: list[dict[str, Any]]):
        self._objects = [item for doc in documents for item in _items(doc)]

    def take(self, wanted: dict[str, Any]) -> dict[str, Any] | None:
        """The live object for `wanted`; without a namespace any namespace matches (the
        context's default applied it)."""
        group, kind = group_of(wanted["apiVersion"]), wanted["kind"]
        name = wanted["metadata"]["name"]
        namespace = wanted["metadata"].get("namespace")
        for position, live in enumerate(self._objects):
            metadata = live.get("metadata") or {}
            if (
                group_of(str(live.get("apiVersion", ""))) == group
                and live.get("kind") == kind
                and metadata.get("name") == name
                and (namespace is None or metadata.get("namespace") in (namespace, None))
            ):
                return self._objects.pop(position)
        return None
