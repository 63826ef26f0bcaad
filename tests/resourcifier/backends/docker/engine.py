"""The Docker engine the docker backend's tests run on, and the objects they leave behind."""

from __future__ import annotations

import os

import docker
import pytest

IMAGE = "dm-test/busybox:latest"
PREFIX = "docker.deployment-manager.io/"
NAMESPACE_LABEL = PREFIX + "namespace"
ROLE_LABEL = PREFIX + "role"


def engine_client() -> docker.DockerClient:
    """A client of the test engine with the busybox image; skip (or fail under CI) otherwise."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as error:  # noqa: BLE001 - any failure means "no engine here"
        _unavailable(f"no Docker engine reachable ({error}); run scripts/docker-engine.sh")
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(f"image {IMAGE} is missing; run scripts/docker-engine.sh")
    return client


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def leftovers(client: docker.DockerClient, namespace: str) -> dict[str, list[str]]:
    """Names of the containers, volumes and networks the backend made for `namespace`."""
    label = f"{NAMESPACE_LABEL}={namespace}"
    return {
        "containers": [c.name for c in client.containers.list(all=True, filters={"label": label})],
        "volumes": [v.name for v in client.volumes.list(filters={"label": label})],
        "networks": [n.name for n in client.networks.list(filters={"label": label})],
    }


def remove_namespace_leftovers(client: docker.DockerClient, prefix: str) -> None:
    """Remove what the backend made for namespaces named `prefix...` (after a failed test)."""
    for container in client.containers.list(all=True, filters={"label": ROLE_LABEL}):
        if container.labels.get(NAMESPACE_LABEL, "").startswith(prefix):
            container.remove(force=True)
    for volume in client.volumes.list(filters={"label": ROLE_LABEL}):
        labels = volume.attrs.get("Labels") or {}
        if labels.get(NAMESPACE_LABEL, "").startswith(prefix) or labels.get(
            PREFIX + "name", ""
        ).startswith(prefix):
            volume.remove(force=True)
    for network in client.networks.list(filters={"label": ROLE_LABEL}):
        if (network.attrs.get("Labels") or {}).get(NAMESPACE_LABEL, "").startswith(prefix):
            network.remove()
