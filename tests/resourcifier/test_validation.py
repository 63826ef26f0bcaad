"""Bad input gets a 400 that names what is wrong, and nothing reaches the cluster."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from tests.resourcifier.conftest import config_map, deployment, live_names, post


def _without(resource: dict, *path: str) -> dict:
    resource = copy.deepcopy(resource)
    target = resource["properties"]
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return resource


@pytest.fixture
def good(namespace):
    """A valid resource sent alongside the bad one: it must not be applied either."""
    return config_map("bystander", namespace)


def _assert_rejected(response, message: str, simulator, namespace: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"status": 400, "message": message}
    assert live_names(simulator, "configmaps", namespace) == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_body_that_is_not_json_is_rejected(resourcifier_url, method):
    response = requests.request(
        method, f"{resourcifier_url}/configurations", data="resources: [", timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["message"] == 'the request body is not JSON: send {"resources": [...]}'


def test_body_nested_too_deeply_is_rejected(resourcifier_url, simulator, namespace, good):
    deep = "[" * 100_000 + "]" * 100_000
    body = (f'{{"namespace": "{namespace}", "resources": [{json.dumps(good)}, '
            f'{{"name": "deep", "type": "ConfigMap", "properties": {{"data": {deep}}}}}]}}')
    response = requests.post(f"{resourcifier_url}/configurations", data=body, timeout=30)
    _assert_rejected(response, "the request body is nested too deeply", simulator, namespace)


@pytest.mark.parametrize("body", [{"resources": []}, {}, {"resources": "x"}])
def test_configuration_without_resources_is_rejected(resourcifier_url, body):
    response = post(resourcifier_url, body)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the configuration has no resources: 'resources' must be a non-empty list"
    )


@pytest.mark.parametrize(
    "path, missing",
    [(("apiVersion",), "apiVersion"), (("kind",), "kind"), (("metadata", "name"), "metadata.name"),
     (("metadata",), "metadata.name")],
)
def test_object_without_identity_is_rejected_by_index_and_name(
    resourcifier_url, simulator, namespace, good, path, missing
):
    bad = _without(config_map("broken", namespace), *path)
    response = post(resourcifier_url, {"resources": [good, bad]})
    _assert_rejected(
        response, f"resources[1] (resource 'broken') has no {missing} in its properties",
        simulator, namespace,
    )


def test_resource_without_name_is_rejected(resourcifier_url, simulator, namespace, good):
    nameless = config_map("x", namespace)
    del nameless["name"]
    response = post(resourcifier_url, {"resources": [good, nameless]})
    _assert_rejected(response, "resources[1] has no name", simulator, namespace)


def test_two_entries_for_one_object_are_rejected(resourcifier_url, simulator, namespace):
    first = config_map("app", namespace)
    second = config_map("app", None, key="other")
    second["name"] = "app-again"
    response = post(resourcifier_url, {"resources": [first, second], "namespace": namespace})
    _assert_rejected(
        response,
        "resources[1] (resource 'app-again') is the same object as resources[0] "
        f"(resource 'app'): ConfigMap {namespace}/app",
        simulator, namespace,
    )


def test_same_name_in_another_api_version_of_one_group_is_the_same_object(
    resourcifier_url, simulator, namespace
):
    first = deployment("web")
    second = deployment("web")
    second["name"] = "web-beta"
    second["properties"]["apiVersion"] = "apps/v1beta1"
    response = post(resourcifier_url, {"resources": [first, second], "namespace": namespace})
    assert response.status_code == 400
    assert "is the same object as resources[0]" in response.json()["message"]
    assert live_names(simulator, "deployments", namespace) == []


def test_same_name_in_two_namespaces_is_two_objects(resourcifier_url, simulator, namespace):
    other = f"{namespace}-b"
    response = post(resourcifier_url, {"resources": [
        {"name": "ns", "type": "Namespace",
         "properties": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}}},
        config_map("app", namespace), config_map("app", other) | {"name": "app-b"},
    ]})
    assert response.status_code == 201, response.text
    assert live_names(simulator, "configmaps", other) == ["app"]


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_dry_run_must_be_a_boolean(resourcifier_url, simulator, namespace, good, value):
    response = post(resourcifier_url, {"resources": [good]}, dryRun=value)
    _assert_rejected(response, f"dryRun must be true or false, not {value!r}", simulator, namespace)


def test_invalid_namespace_is_rejected(resourcifier_url, simulator, namespace, good):
    response = post(resourcifier_url, {"resources": [good], "namespace": "Not_Valid"})
    _assert_rejected(response, "invalid namespace 'Not_Valid'", simulator, namespace)


def test_namespace_longer_than_a_dns_label_is_rejected(resourcifier_url, simulator, namespace,
                                                         good):
    too_long = "n" * 64
    response = post(resourcifier_url, {"resources": [good], "namespace": too_long})
    _assert_rejected(response, f"invalid namespace {too_long!r}", simulator, namespace)


@pytest.mark.parametrize("path", ["--all-namespaces", "configmaps,secrets", "-A/x"])
def test_type_that_could_read_as_a_flag_is_rejected(resourcifier_url, path):
    response = requests.get(f"{resourcifier_url}/configurations/{path}", timeout=10)
    assert response.status_code == 400
    assert response.json()["message"].startswith("invalid type ")


def test_name_that_could_read_as_a_flag_is_rejected(resourcifier_url):
    response = requests.get(f"{resourcifier_url}/configurations/configmaps/--help", timeout=10)
    assert response.status_code == 400
    assert response.json()["message"] == "invalid name '--help'"
