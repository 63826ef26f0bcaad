"""Reading live objects back from kubectl's answers, and reading many at once.

`kubectl get -f` asks the cluster for every object on its own: a thousand objects are a
thousand requests. When a batch holds many objects of one namespace that share labels
(a deployment's objects all carry the manager's), `listed_objects` lists their kinds in
that namespace, narrowed to those labels, in one call. The objects the listing did not
return (absent, or relabelled since) are then read one by one as before, so the answer
is the same either way, only cheaper.
"""

from __future__ import annotations

import json
import re
from typing import Any, Collection

from dmcommon.identity import group_of
from resourcifier.backends.kubectl.kinds import KindInfo, ServedKinds
from resourcifier.backends.kubectl.runner import Kubectl

LIST_FROM = 20
"""How many objects of one namespace make a listing cheaper than reading each."""

# Label keys and values as Kubernetes allows them: safe inside a selector.
_LABEL_KEY = re.compile(r"([A-Za-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?")
_LABEL_VALUE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?")


def listed_objects(
    kubectl: Kubectl,
    kinds: ServedKinds,
    objects: list[dict[str, Any]],
    defined: Collection[tuple[str, str]] = (),
) -> dict[int, dict[str, Any] | None]:
    """The live objects of `objects` (placed in their namespaces) that listings found, by
    index; objects not listed are left out, and so are those of the (group, kind)s the
    batch `defined` itself (the cluster may not serve them yet)."""
    by_namespace: dict[str, list[int]] = {}
    for index, obj in enumerate(objects):
        namespace = obj["metadata"].get("namespace")
        own_kind = (group_of(obj["apiVersion"]), obj["kind"]) in defined
        if isinstance(namespace, str) and namespace and not own_kind:
            by_namespace.setdefault(namespace, []).append(index)
    found: dict[int, dict[str, Any] | None] = {}
    for namespace, indices in by_namespace.items():
        if len(indices) >= LIST_FROM:
            found.update(_listed(kubectl, kinds, namespace, {i: objects[i] for i in indices}))
    return found


def _listed(
    kubectl: Kubectl, kinds: ServedKinds, namespace: str, wanted: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any] | None]:
    selector = _shared_labels(list(wanted.values()))
    infos = {kinds.lookup(obj["apiVersion"], obj["kind"]) for obj in wanted.values()}
    if not selector or None in infos or not all(info.namespaced for info in infos):
        return {}
    types = ",".join(sorted(_type_name(info) for info in infos))
    outcome = kubectl.run(
        ["get", types, "--namespace", namespace, "--selector", selector, "-o", "json"]
    )
    if not outcome.ok:
        # Listing may be forbidden where reading is not: each object is read instead.
        return {}
    items = [item for doc in json_documents(outcome.stdout) for item in items_of(doc)]
    live = {_identity(item): item for item in items}
    return {index: live[key] for index, obj in wanted.items() if (key := _identity(obj)) in live}


def _shared_labels(objects: list[dict[str, Any]]) -> str:
    """A selector of the labels every object carries with the same value ("" if none)."""
    shared: dict[str, str] | None = None
    for obj in objects:
        labels = obj["metadata"].get("labels")
        if not isinstance(labels, dict):
            return ""
        own = {key: value for key, value in labels.items() if isinstance(value, str)}
        shared = own if shared is None else {k: v for k, v in shared.items() if own.get(k) == v}
        if not shared:
            return ""
    return ",".join(
        f"{key}={value}"
        for key, value in sorted((shared or {}).items())
        if _LABEL_KEY.fullmatch(key) and _LABEL_VALUE.fullmatch(value)
    )


def _type_name(info: KindInfo) -> str:
    """The fully qualified `resource.version.group` kubectl resolves without guessing."""
    return f"{info.resource}.{info.api_version.rpartition('/')[2]}.{info.group}"


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    group = group_of(str(obj.get("apiVersion") or ""))
    return group, str(obj.get("kind")), str(metadata.get("name"))


def json_documents(text: str) -> list[dict[str, Any]]:
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


def items_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """A List's items, or the document itself."""
    if isinstance(document.get("items"), list) and document.get("kind", "").endswith("List"):
        return [item for item in document["items"] if isinstance(item, dict)]
    return [document]


class LiveIndex:
    """Live objects from kubectl's answer, found again by what identifies them."""

    def __init__(self, documents: list[dict[str, Any]]):
        self._objects = [item for doc in documents for item in items_of(doc)]

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
