"""Session fixtures for tests on a real Docker engine; conftest files import them."""

from __future__ import annotations

import os

import docker
import pytest

from tests.resourcifier.backends.docker.engine import engine_client, remove_namespace_leftovers
from tests.support import start_service

# Namespaces made by this session start with it, so clean-up never touches anything else.
SESSION_PREFIX = f"dt{os.getpid()}-"


@pytest.fixture(scope="session")
def docker_client() -> docker.DockerClient:
    """The engine under test; skips (or fails under CI) without one."""
    client = engine_client()
    yield client
    remove_namespace_leftovers(client, SESSION_PREFIX)
    client.close()


@pytest.fixture(scope="session")
def docker_resourcifier(tmp_path_factory, docker_client) -> str:
    """A gunicorn-served resourcifier on the docker backend: its base URL."""
    process, url = start_service(
        "resourcifier", tmp_path_factory.mktemp("docker-resourcifier"),
        env={"DM_RESOURCIFIER_BACKEND": "docker"},
    )
    yield url
    process.stop()
