"""Namespaces and Services on the engine.

A namespace is a user-defined bridge network `dm-<namespace>`. A Service is a set of
network aliases (`name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`) on the
pods its selector matches, kept in step when either side changes; NodePort and
LoadBalancer ports are published on the host by the first replica.
"""

from __future__ import annotations

import json
from typing import Any

import docker

from resourcifier.backends.docker.engine import (
    INDEX,
    NAMESPACE,
    POD_LABELS,
    ROLE,
    ROLE_NETWORK,
    Engine,
)
from resourcifier.backends.docker.records import Records
from resourcifier.backends.docker.spec import PUBLISHING_SERVICE_TYPES


def network_name(namespace: str) -> str:
    """The docker network that stands for a namespace."""
    return f"dm-{namespace}"


def selector_matches(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """A Service's selector matches pod labels; an empty selector matches nothing."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def publishes(service_record: dict[str, Any] | None) -> bool:
    """Whether a Service's record asks for host ports, which pods get when created."""
    return service_record is not None and (
        service_record["applied"]["spec"].get("type") in PUBLISHING_SERVICE_TYPES
    )


class Networks:
    """The namespaces' networks, and what the Services of a namespace ask of its pods."""

    def __init__(self, engine: Engine, records: Records):
        self._engine = engine
        self._records = records

    def ensure(self, namespace: str) -> None:
        """Create the namespace's network unless it exists."""
        name = network_name(namespace)
        try:
            self._engine.api.inspect_network(name)
        except docker.errors.NotFound:
            self._engine.api.create_network(
                name, driver="bridge", labels={ROLE: ROLE_NETWORK, NAMESPACE: namespace}
            )

    def remove(self, namespace: str) -> None:
        """Remove the namespace's network, if it is ours and nothing uses it any more."""
        try:
            network = self._engine.api.inspect_network(network_name(namespace))
        except docker.errors.NotFound:
            return
        if (network.get("Labels") or {}).get(ROLE) == ROLE_NETWORK:
            try:
                self._engine.api.remove_network(network["Id"])
            except docker.errors.APIError:
                # Something else still uses it; the next delete in the namespace retries.
                pass

    def aliases(
        self, namespace: str, labels: dict[str, str], services: list[dict] | None = None
    ) -> list[str]:
        """The names a pod with `labels` answers to: those of the Services selecting it."""
        names = []
        for service in services if services is not None else self._services(namespace):
            if selector_matches(service["spec"].get("selector"), labels):
                name = service["metadata"]["name"]
                names += [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
                          f"{name}.{namespace}.svc.cluster.local"]
        return sorted(names)

    def published(self, namespace: str, labels: dict[str, str]) -> list[tuple[int, int, str]]:
        """(host port, container port, protocol) of NodePort/LoadBalancer Services over a pod."""
        ports = []
        for service in self._services(namespace):
            spec = service["spec"]
            if spec.get("type") in PUBLISHING_SERVICE_TYPES and selector_matches(
                spec.get("selector"), labels
            ):
                for port in spec.get("ports") or []:
                    ports.append((port.get("nodePort", port["port"]), port["port"],
                                  port.get("protocol", "TCP").lower()))
        return sorted(ports)

    def sync_aliases(self, namespace: str) -> None:
        """Give every pod of the namespace exactly the aliases of the Services selecting it."""
        api = self._engine.api
        services = self._services(namespace)
        net = network_name(namespace)
        for summary in self._engine.containers({NAMESPACE: namespace, INDEX: "0"}):
            wanted = self.aliases(namespace, json.loads(summary["Labels"][POD_LABELS]), services)
            details = api.inspect_container(summary["Id"])
            endpoint = (details["NetworkSettings"]["Networks"] or {}).get(net)
            if endpoint is None:
                continue
            # The engine adds the short id and the hostname itself; they are not ours to keep.
            automatic = {summary["Id"][:12], details["Config"]["Hostname"]}
            current = set(endpoint.get("Aliases") or []) - automatic
            if current != set(wanted):
                api.disconnect_container_from_network(summary["Id"], net)
                api.connect_container_to_network(summary["Id"], net, aliases=wanted)

    def _services(self, namespace: str) -> list[dict[str, Any]]:
        return [record["applied"] for record in self._records.list("Service", namespace)]
