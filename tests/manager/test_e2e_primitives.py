"""End to end: a configuration of primitives only, deployed through the real services,
checked with the real kubectl against the simulator, then deleted."""

import json

from tests.support import kubectl


def deployment_object(name: str) -> dict:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
            },
        },
    }


CONFIG = {
    "resources": [
        {
            "name": "settings",
            "type": "ConfigMap",
            "properties": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings"},
                "data": {"mode": "demo"},
            },
        },
        {"name": "web", "type": "Deployment", "properties": deployment_object("web")},
        {
            "name": "web-svc",
            "type": "Service",
            "properties": {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web-svc"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
            },
        },
    ]
}


def labelled_objects(kubeconfig, namespace: str, deployment: str) -> set[str]:
    result = kubectl(
        kubeconfig,
        "get",
        "configmaps,deployments,services",
        "-n",
        namespace,
        "-l",
        f"app.kubernetes.io/managed-by=deployment-manager,"
        f"deployment-manager.io/deployment={deployment}",
        "-o",
        "json",
    )
    return {
        f"{item['kind']}/{item['metadata']['name']}" for item in json.loads(result.stdout)["items"]
    }


def test_primitives_deploy_with_labels_and_delete(dm, namespace):
    body = {"name": "prims", "namespace": namespace, "content": json.dumps(CONFIG)}
    created = dm.api("POST", "/deployments?wait=true", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["state"] == {"status": "Deployed", "errors": []}

    assert labelled_objects(dm.kubeconfig, namespace, "prims") == {
        "ConfigMap/settings",
        "Deployment/web",
        "Service/web-svc",
    }

    deleted = dm.api("DELETE", "/deployments/prims?wait=true")
    assert deleted.status_code == 200, deleted.text
    assert labelled_objects(dm.kubeconfig, namespace, "prims") == set()
    missing = dm.api("GET", "/deployments/prims")
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "message": 'deployment "prims" not found'}
