"""A replicated service: a Deployment running `replicas` copies of one container, and a
Service in front of it with the same name.

The primitives are named `<resource>-deployment` and `<resource>-service`, so other
resources of the deployment can refer to them, e.g. `$(ref.redis-service.spec.clusterIP)`.
"""


def GenerateConfig(context):
    """Return the Deployment and the Service of the replicated service `context.env['name']`."""
    props = context.properties
    name = context.env["name"]
    labels = {"app": name}
    container = {
        "name": name,
        "image": props["image"],
        "ports": [{"containerPort": props.get("containerPort", props["port"])}],
    }
    if props["args"]:
        container["args"] = props["args"]
    if props["env"]:
        container["env"] = [
            {"name": key, "value": str(value)} for key, value in props["env"].items()
        ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": props["replicas"],
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "type": props["serviceType"],
            "selector": labels,
            "ports": [
                {"port": props["port"], "targetPort": container["ports"][0]["containerPort"]}
            ],
        },
    }
    return {
        "resources": [
            {"name": name + "-deployment", "type": "Deployment", "properties": deployment},
            {"name": name + "-service", "type": "Service", "properties": service},
        ]
    }
