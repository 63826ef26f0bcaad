""" "Deployed" means running: on the simulator, whose controllers start pods, a deploy
ends only when its pods are ready, a never-ready image fails it with the reason, and an
atomic update that fails puts the previous revision back."""

from __future__ import annotations

import pytest

from kubesim.client import SimControl
from tests.manager.conftest import start_manager
from tests.manager.test_e2e_workflow import config_map, live, template
from tests.support import kubectl


@pytest.fixture
def dm(request, tmp_path, simulator, expander_url, resourcifier_url):
    manager = start_manager(request, tmp_path, simulator, expander_url, resourcifier_url)
    yield manager
    SimControl(simulator.url).clear_faults()


def web(image: str, replicas: int = 2) -> dict:
    labels = {"app": "web"}
    return {
        "name": "web",
        "type": "Deployment",
        "properties": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": image}]},
                },
            },
        },
    }


def steps(dm, operation_id: str) -> list[dict]:
    return dm.api("GET", f"/operations/{operation_id}").json()["steps"]


def test_a_deploy_ends_deployed_only_when_its_pods_are_ready_level_by_level(dm, namespace):
    # The ConfigMap references the Deployment: it is applied only once web is Healthy.
    settings = config_map("settings", uid="$(ref.web.metadata.uid)")
    body = template("app", namespace, web("nginx:1.25"), settings)
    response = dm.api("POST", "/deployments?wait=true", json=body)
    deployment = response.json()
    assert deployment["state"] == {"status": "Deployed", "errors": []}, response.text
    assert deployment["health"]["status"] == "Healthy"
    status = live(dm, "deployment", namespace, "web")["status"]
    assert status["readyReplicas"] == status["availableReplicas"] == 2
    done = {
        (step["resource"], step["action"]): step["endedAt"]
        for step in steps(dm, deployment["operation"])
    }
    assert done[("web", "wait")] <= done[("settings", "apply")]
    rollout = kubectl(dm.kubeconfig, "rollout", "status", "deployment/web", "-n", namespace)
    assert "successfully rolled out" in rollout.stdout


def test_a_never_ready_image_fails_the_deploy_at_its_deadline_naming_the_reason(
    dm, simulator, namespace
):
    SimControl(simulator.url).never_ready("registry.example/broken:*", "ImagePullBackOff")
    body = template("app", namespace, web("registry.example/broken:1"))
    body["options"] = {"timeout": 3}
    deployment = dm.api("POST", "/deployments?wait=true", json=body).json()
    assert deployment["state"]["status"] == "Failed"
    [error] = deployment["state"]["errors"]
    assert error.startswith("resource 'web': web: ")
    assert "ImagePullBackOff" in error and error.endswith("after 3 s")
    assert deployment["health"]["status"] == "Degraded"


def test_an_atomic_update_that_never_gets_ready_puts_the_previous_revision_back(
    dm, simulator, namespace
):
    SimControl(simulator.url).never_ready("registry.example/broken:*", "CrashLoopBackOff")
    first = dm.api(
        "POST", "/deployments?wait=true", json=template("app", namespace, web("nginx:1.25"))
    )
    assert first.json()["state"]["status"] == "Deployed", first.text
    body = template("app", namespace, web("registry.example/broken:2"))
    response = dm.api("PUT", "/deployments/app?wait=true&atomic=true&timeout=3", json=body)
    deployment = response.json()
    operation = dm.api("GET", f"/operations/{deployment['operation']}").json()
    assert operation["status"] == "Failed"
    assert operation["errors"][-1] == "rolled back to revision 1"
    assert "CrashLoopBackOff" in operation["errors"][0]
    assert deployment["state"]["status"] == "Deployed"
    assert deployment["revision"] == 1
    image = live(dm, "deployment", namespace, "web")["spec"]["template"]["spec"]["containers"][0]
    assert image["image"] == "nginx:1.25"
    rollout = kubectl(
        dm.kubeconfig, "rollout", "status", "deployment/web", "-n", namespace, "--timeout=30s"
    )
    assert "successfully rolled out" in rollout.stdout
