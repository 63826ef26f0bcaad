"""Connection settings reach kubectl: --context, --server, --token, --namespace."""

from __future__ import annotations

import pytest
import requests
import yaml

from tests.resourcifier.conftest import config_map, create_namespace, live_names, post
from tests.support import free_port, start_service


@pytest.fixture(scope="module")
def home_namespace(simulator) -> str:
    name = "rt-settings-home"
    create_namespace(simulator.kubeconfig, name)
    return name


@pytest.fixture(scope="module")
def by_context(tmp_path_factory, simulator, home_namespace) -> str:
    """A resourcifier whose kubeconfig's current context is dead; --context picks the sim."""
    workdir = tmp_path_factory.mktemp("by-context")
    config = yaml.safe_load(simulator.kubeconfig.read_text())
    config["clusters"].append({"name": "dead", "cluster": {
        "server": f"http://127.0.0.1:{free_port()}"}})
    config["contexts"].append({"name": "dead", "context": {"cluster": "dead", "user": "sim"}})
    good = config["current-context"]
    config["current-context"] = "dead"
    kubeconfig = workdir / "two-contexts.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    process, url = start_service("resourcifier", workdir, [
        "--kubeconfig", str(kubeconfig), "--context", good, "--namespace", home_namespace,
    ])
    yield url
    process.stop()


@pytest.fixture(scope="module")
def by_server(tmp_path_factory, simulator, home_namespace) -> str:
    """A resourcifier given only --server and --token, over an empty kubeconfig."""
    workdir = tmp_path_factory.mktemp("by-server")
    empty = workdir / "empty.kubeconfig"
    empty.write_text("")
    process, url = start_service("resourcifier", workdir, [
        "--kubeconfig", str(empty), "--server", simulator.url, "--token", "any",
        "--namespace", home_namespace,
    ])
    yield url
    process.stop()


@pytest.mark.parametrize("service", ["by_context", "by_server"])
def test_default_namespace_places_and_reads_objects(request, service, simulator, home_namespace):
    url = request.getfixturevalue(service)
    name = f"placed-{service.replace('_', '-')}"
    response = post(url, {"resources": [config_map(name)]})
    assert response.json()["resources"][0]["state"]["status"] == "Created", response.text
    assert name in live_names(simulator, "configmaps", home_namespace)
    read = requests.get(f"{url}/configurations/configmaps/{name}", timeout=30)
    assert read.status_code == 200
    assert read.json()["metadata"]["namespace"] == home_namespace


def test_configuration_namespace_wins_over_the_default(by_context, simulator, namespace):
    post(by_context, {"resources": [config_map("elsewhere")], "namespace": namespace})
    assert live_names(simulator, "configmaps", namespace) == ["elsewhere"]


def test_readyz_follows_the_chosen_context(by_context):
    assert requests.get(f"{by_context}/readyz", timeout=30).status_code == 200
