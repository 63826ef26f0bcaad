"""GET /configurations/{type}[/{name}]: live objects by any name of their kind; 404 when absent."""

from __future__ import annotations

import pytest

from tests.contract.conftest import config_map, deployment


@pytest.fixture(scope="module")
def web(backend, module_namespace) -> str:
    """A namespace holding one Deployment and one ConfigMap, for tests that only read."""
    response = backend.apply([deployment("web"), config_map("settings")], module_namespace)
    assert response.status_code == 201, response.text
    return module_namespace


@pytest.mark.parametrize("type_", ["Deployment", "deployments", "deployments.apps", "deploy"])
def test_object_is_read_by_any_name_of_its_kind(backend, web, type_):
    response = backend.get(f"{type_}/web", web)
    assert response.status_code == 200, response.text
    live = response.json()
    assert (live["apiVersion"], live["kind"]) == ("apps/v1", "Deployment")
    assert live["metadata"]["name"] == "web"
    assert live["metadata"]["namespace"] == web
    assert live["spec"]["replicas"] == 1


def test_live_workload_has_a_status(backend, web):
    live = backend.get("deployments/web", web).json()
    assert isinstance(live.get("status"), dict)


def test_listing_answers_the_live_objects_of_the_namespace(backend, web):
    assert backend.names("cm", web) == ["settings"]


def test_listing_an_empty_namespace_answers_an_empty_list(backend, namespace):
    response = backend.get("services", namespace)
    assert response.status_code == 200
    assert response.json() == []


def test_absent_object_is_404(backend, namespace):
    response = backend.get("configmaps/nothing", namespace)
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert '"nothing" not found' in response.json()["message"]


@pytest.mark.parametrize("path", ["gizmos", "gizmos/one"])
def test_unknown_type_is_404(backend, path):
    response = backend.get(path)
    assert response.status_code == 404
    assert "gizmos" in response.json()["message"]
