"""The Docker engine as the backend reaches it: a client connected on first use, the labels
that mark every engine object the backend made, and removals that tolerate what is gone.

The backend only ever lists, changes or removes engine objects that carry these labels.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import docker
import requests

from dmcommon.errors import ServiceUnavailable
from dmcommon.identity import ObjectKey

PREFIX = "docker.deployment-manager.io/"
ROLE = PREFIX + "role"
KIND = PREFIX + "kind"
NAMESPACE = PREFIX + "namespace"
NAME = PREFIX + "name"
POD = PREFIX + "pod"
CONTAINER = PREFIX + "container"
INDEX = PREFIX + "index"
HASH = PREFIX + "template-hash"
POD_LABELS = PREFIX + "pod-labels"
OBJECT = PREFIX + "object"
DEPLOYMENT_LABEL = "deployment-manager.io/deployment"

# Values of the ROLE label: what an engine object stands for.
ROLE_RECORD = "record"
ROLE_NETWORK = "network"
ROLE_CONTAINER = "container"
ROLE_VOLUME = "volume"
ROLE_CLAIM = "claim"


class Engine:
    """One Docker engine, reached through DOCKER_HOST or the default socket."""

    def __init__(self, timeout: int):
        self._timeout = timeout
        self._client = None

    @property
    def api(self):
        """The low-level Docker API client, connected on first use."""
        if self._client is None:
            try:
                self._client = docker.from_env(timeout=self._timeout)
            except docker.errors.DockerException as error:
                raise ServiceUnavailable(f"cannot reach the docker engine: {error}") from None
        return self._client.api

    def check(self) -> None:
        """Raise `ServiceUnavailable` when the engine does not answer."""
        try:
            self.api.ping()
        except (docker.errors.DockerException, OSError) as error:
            raise ServiceUnavailable(f"cannot reach the docker engine: {error}") from None

    @staticmethod
    @contextmanager
    def errors() -> Iterator[None]:
        """Turn "the engine cannot be reached" into 503 for the whole request."""
        try:
            yield
        except docker.errors.APIError:
            raise
        except (docker.errors.DockerException, requests.ConnectionError) as error:
            raise ServiceUnavailable(f"cannot reach the docker engine: {error}") from None

    def containers(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Every container, running or not, that carries all of `labels`."""
        return self.api.containers(all=True, filters={"label": key_values(labels)})

    def volumes(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """Every volume that carries all of `labels`."""
        return self.api.volumes(filters={"label": key_values(labels)})["Volumes"] or []

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        try:
            self.api.inspect_volume(name)
        except docker.errors.NotFound:
            self.api.create_volume(name, labels=labels)

    def remove_container(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True, v=False)
        except docker.errors.NotFound:
            pass

    def remove_volume(self, name: str) -> None:
        try:
            self.api.remove_volume(name)
        except docker.errors.NotFound:
            pass

    def remove_volumes(self, labels: dict[str, str]) -> None:
        for volume in self.volumes(labels):
            self.remove_volume(volume["Name"])

    def remove_labelled(self, labels: dict[str, str]) -> None:
        """Remove every container and volume that carries all of `labels`."""
        containers = self.containers(labels)
        # Joined containers before the ones holding their network namespace.
        for summary in sorted(containers, key=lambda s: s["Labels"].get(INDEX, "0"), reverse=True):
            self.remove_container(summary["Id"])
        self.remove_volumes(labels)


def owner_labels(key: ObjectKey, obj: dict[str, Any]) -> dict[str, str]:
    """The labels naming the object an engine object belongs to, and its deployment."""
    labels = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name}
    deployment = ((obj.get("metadata") or {}).get("labels") or {}).get(DEPLOYMENT_LABEL)
    if deployment:
        labels[DEPLOYMENT_LABEL] = deployment
    return labels


def key_values(values: Mapping[str, str]) -> list[str]:
    """`key=value` strings, as the engine takes label filters and environments."""
    return [f"{key}={value}" for key, value in values.items()]


def explain(error: Exception) -> str:
    """The engine's own words for a failed call."""
    return getattr(error, "explanation", None) or str(error)
