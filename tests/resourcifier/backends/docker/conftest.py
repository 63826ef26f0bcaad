"""Fixtures for the docker backend's own tests: the engine, a resourcifier over it, namespaces."""

from __future__ import annotations

import itertools

import pytest

from tests.contract.conftest import Backend, namespace_resource
from tests.resourcifier.backends.docker.fixtures import (  # noqa: F401 - fixtures are found by name
    SESSION_PREFIX,
    docker_client,
    docker_resourcifier,
)

_numbers = itertools.count()


@pytest.fixture
def backend(request) -> Backend:
    """The docker-backed resourcifier, through the same client the contract tests use."""
    return Backend("docker", request.getfixturevalue("docker_resourcifier"))


@pytest.fixture
def namespace(backend) -> str:
    """A fresh namespace; deleting it afterwards removes all the engine objects made in it."""
    name = f"{SESSION_PREFIX}d{next(_numbers)}"
    response = backend.apply([namespace_resource(name)], name)
    assert response.status_code == 201, response.text
    yield name
    backend.delete([namespace_resource(name)], name)
