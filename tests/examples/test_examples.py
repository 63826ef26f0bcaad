"""Each example deploys with `dm` against the simulator and creates the objects it promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dmcli.runner import dm_json, run_dm
from tests.support import kubectl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GUESTBOOK_VARIANTS = ["guestbook.yaml", "guestbook-jinja.yaml"]


def get(stack, namespace: str, kind: str, name: str) -> dict:
    result = kubectl(stack.simulator.kubeconfig, "-n", namespace, "get", kind, name, "-o", "json")
    return json.loads(result.stdout)


@pytest.mark.parametrize("variant", GUESTBOOK_VARIANTS)
def test_guestbook_creates_three_replicated_services(stack, namespace, variant):
    run_dm(
        stack.manager,
        "deploy",
        str(EXAMPLES / "guestbook" / variant),
        "--name",
        namespace,
        "--namespace",
        namespace,
    )
    expected = {
        "frontend": (3, "us-docker.pkg.dev/google-samples/containers/gke/gb-frontend:v5", 80),
        "redis-leader": (1, "redis:7", 6379),
        "redis-follower": (2, "redis:7", 6379),
    }
    for name, (replicas, image, port) in expected.items():
        deployment = get(stack, namespace, "deployment", name)
        spec = deployment["spec"]
        assert spec["replicas"] == replicas
        assert spec["selector"]["matchLabels"] == {"app": name}
        pod = spec["template"]
        assert pod["metadata"]["labels"]["app"] == name
        assert pod["spec"]["containers"][0]["image"] == image
        assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": port}]
        service = get(stack, namespace, "service", name)
        assert service["spec"]["selector"] == {"app": name}
        assert service["spec"]["ports"][0]["port"] == port
    follower = get(stack, namespace, "deployment", "redis-follower")
    assert follower["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "--replicaof",
        "redis-leader",
        "6379",
    ]
    frontend = get(stack, namespace, "deployment", "frontend")
    assert frontend["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "GET_HOSTS_FROM", "value": "dns"}
    ]


def test_guestbook_python_and_jinja_templates_expand_alike(stack):
    python, jinja = (
        dm_json(stack.manager, "expand", str(EXAMPLES / "guestbook" / variant), "--name", "gb")
        for variant in GUESTBOOK_VARIANTS
    )
    assert python["config"] == jinja["config"]
    assert len(python["config"]["resources"]) == 6


def test_guestbook_delete_removes_every_object(stack, namespace):
    run_dm(
        stack.manager,
        "deploy",
        str(EXAMPLES / "guestbook" / "guestbook.yaml"),
        "--namespace",
        namespace,
    )
    def objects() -> list[str]:
        found = kubectl(
            stack.simulator.kubeconfig, "-n", namespace, "get", "deployments,services", "-o", "json"
        )
        return sorted(item["metadata"]["name"] for item in json.loads(found.stdout)["items"])

    parts = ["frontend", "redis-follower", "redis-leader"]
    assert objects() == sorted(parts * 2)
    run_dm(stack.manager, "delete", "guestbook")
    assert objects() == []


def test_service_endpoint_fills_the_config_map_from_the_live_service(stack, namespace):
    run_dm(
        stack.manager,
        "deploy",
        str(EXAMPLES / "service-endpoint" / "service-endpoint.yaml"),
        "--namespace",
        namespace,
    )
    service = get(stack, namespace, "service", "api")
    config_map = get(stack, namespace, "configmap", "api-endpoint")
    assert config_map["data"] == {
        "serviceName": "api",
        "clusterIP": service["spec"]["clusterIP"],
        "url": "http://api:80/",
    }
    assert service["spec"]["clusterIP"]
    container = get(stack, namespace, "deployment", "client")["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["env"] == [
        {
            "name": "API_URL",
            "valueFrom": {"configMapKeyRef": {"name": "api-endpoint", "key": "url"}},
        }
    ]
    assert container["ports"] == [{"containerPort": 5678}]
