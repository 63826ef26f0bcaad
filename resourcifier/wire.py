"""The resourcifier's wire format: the Configuration a caller sends and gets back, and the
query parameters, parsed, validated and rendered at the JSON boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dmcommon.errors import BadRequest
from dmcommon.identity import ObjectKey, object_key
from dmcommon.settings import parse_bool
from resourcifier.backends.base import Observation, ResourceResult


@dataclass
class Resource:
    """One named primitive: `properties` is the Kubernetes object itself.

    After an apply or delete it has a `state`; after a status read, what was `observed`;
    after a preview both, the state being the dry run's (its `live`, the object the
    server would store, goes out as `dryRun`).
    """

    name: str
    type: str
    properties: dict[str, Any]
    state: ResourceResult | None = None
    observed: Observation | None = None

    @property
    def label(self) -> str:
        """How error messages name this resource."""
        return f"resource {self.name!r}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "type": self.type, "properties": self.properties}
        if self.state is not None:
            data["state"] = self.state.to_dict()
        if self.observed is not None:
            data["live"] = self.observed.live
            data["health"] = self.observed.health.to_dict()
            if self.state is not None:
                data["dryRun"] = self.state.live
        elif self.state is not None and self.state.live is not None:
            data["live"] = self.state.live
        return data


@dataclass
class Configuration:
    """`{resources: [Resource], namespace?}`, validated on the way in."""

    resources: list[Resource] = field(default_factory=list)
    namespace: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Configuration:
        """Parse and validate a request body; raise `BadRequest` naming the bad resource."""
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object {\"resources\": [...]}")
        namespace = data.get("namespace")
        if namespace is not None and (not isinstance(namespace, str) or not namespace):
            raise BadRequest("'namespace' must be a non-empty string")
        items = data.get("resources")
        if not isinstance(items, list) or not items:
            raise BadRequest(
                "the configuration has no resources: 'resources' must be a non-empty list"
            )
        resources = [_parse_resource(index, item) for index, item in enumerate(items)]
        return cls(resources, namespace)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"resources": [resource.to_dict() for resource in self.resources]}
        if self.namespace is not None:
            data["namespace"] = self.namespace
        return data

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [resource.properties for resource in self.resources]

    def check_duplicates(self, default_namespace: str | None) -> None:
        """Reject two entries for the same object (same API group, kind, namespace, name)."""
        namespace = self.namespace or default_namespace or ""
        seen: dict[ObjectKey, int] = {}
        for index, resource in enumerate(self.resources):
            key = object_key(resource.properties, namespace)
            if key in seen:
                first = seen[key]
                raise BadRequest(
                    f"resources[{index}] ({resource.label}) is the same object as "
                    f"resources[{first}] ({self.resources[first].label}): {key}"
                )
            seen[key] = index


def parse_flag(name: str, value: str | None) -> bool:
    """A boolean query parameter such as `?dryRun=true|false` (absent: false)."""
    if value is None:
        return False
    try:
        return parse_bool(value)
    except ValueError:
        raise BadRequest(f"{name} must be true or false, not {value!r}") from None


def _parse_resource(index: int, item: Any) -> Resource:
    where = f"resources[{index}]"
    if not isinstance(item, dict):
        raise BadRequest(f"{where} must be an object with name, type and properties")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise BadRequest(f"{where} has no name")
    where = f"{where} (resource {name!r})"
    type_ = item.get("type")
    if not isinstance(type_, str) or not type_:
        raise BadRequest(f"{where} has no type")
    obj = item.get("properties")
    if not isinstance(obj, dict):
        raise BadRequest(f"{where} has no properties: they must be the Kubernetes object")
    for key in ("apiVersion", "kind"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise BadRequest(f"{where} has no {key} in its properties")
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    if not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise BadRequest(f"{where} has no metadata.name in its properties")
    ns = metadata.get("namespace")
    if ns is not None and (not isinstance(ns, str) or not ns):
        raise BadRequest(f"{where} has a metadata.namespace that is not a non-empty string")
    return Resource(name, type_, obj)
