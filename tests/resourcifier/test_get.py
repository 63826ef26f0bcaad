"""GET /configurations/{type}[/{name}]: live objects, 404 when absent."""

from __future__ import annotations

import pytest
import requests

from tests.resourcifier.conftest import config_map, deployment, post


@pytest.fixture
def web(resourcifier_url, namespace):
    post(resourcifier_url, {"resources": [deployment("web"), config_map("settings")],
                            "namespace": namespace})
    return namespace


@pytest.mark.parametrize("type_", ["Deployment", "deployments", "deployments.apps", "deploy"])
def test_object_is_read_by_any_name_kubectl_accepts_for_its_kind(resourcifier_url, web, type_):
    response = requests.get(
        f"{resourcifier_url}/configurations/{type_}/web", params={"namespace": web}, timeout=30
    )
    assert response.status_code == 200, response.text
    live = response.json()
    assert (live["kind"], live["metadata"]["name"]) == ("Deployment", "web")
    assert live["metadata"]["uid"]


def test_listing_answers_the_live_objects_of_the_namespace(resourcifier_url, web):
    response = requests.get(
        f"{resourcifier_url}/configurations/cm", params={"namespace": web}, timeout=30
    )
    assert response.status_code == 200
    assert [item["metadata"]["name"] for item in response.json()] == ["settings"]


def test_listing_an_empty_namespace_answers_an_empty_list(resourcifier_url, namespace):
    response = requests.get(
        f"{resourcifier_url}/configurations/services", params={"namespace": namespace}, timeout=30
    )
    assert response.status_code == 200
    assert response.json() == []


def test_absent_object_is_404(resourcifier_url, namespace):
    response = requests.get(
        f"{resourcifier_url}/configurations/configmaps/nothing", params={"namespace": namespace},
        timeout=30,
    )
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert '"nothing" not found' in response.json()["message"]


@pytest.mark.parametrize("path", ["gizmos", "gizmos/one"])
def test_unknown_type_is_404(resourcifier_url, path):
    response = requests.get(f"{resourcifier_url}/configurations/{path}", timeout=30)
    assert response.status_code == 404
    assert "gizmos" in response.json()["message"]
