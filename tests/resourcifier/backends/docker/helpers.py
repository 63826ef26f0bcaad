"""Reading what the docker backend made on the engine."""

from __future__ import annotations

from typing import Any

import docker

from tests.resourcifier.backends.docker.engine import IMAGE, NAMESPACE_LABEL, PREFIX


def containers_of(client: docker.DockerClient, namespace: str, owner: str) -> list:
    """The containers of the object named `owner` in `namespace`, by pod then position."""
    found = client.containers.list(all=True, filters={"label": [
        f"{NAMESPACE_LABEL}={namespace}", f"{PREFIX}name={owner}"]})
    return sorted(found, key=lambda c: (c.labels[PREFIX + "pod"], c.labels[PREFIX + "index"]))


def running_ids(client: docker.DockerClient, namespace: str, owner: str) -> list[str]:
    return sorted(c.id for c in containers_of(client, namespace, owner) if c.status == "running")


def run(container, *command: str) -> str:
    """Run `command` in a running container; its output, or an AssertionError with it."""
    result = container.exec_run(list(command))
    output = result.output.decode(errors="replace")
    assert result.exit_code == 0, f"{command} exited {result.exit_code}: {output}"
    return output


def pod(name: str, containers: list[dict[str, Any]], labels: dict[str, str] | None = None,
        **spec: Any) -> dict[str, Any]:
    return {"name": name, "type": "Pod", "properties": {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": name}},
        "spec": {"containers": containers, **spec}}}


def container(name: str, *command: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": IMAGE, "command": list(command), **fields}


def web_server(name: str = "web", port: int = 8080, **fields: Any) -> dict[str, Any]:
    """A container serving /www over HTTP with busybox httpd."""
    return container(name, "httpd", "-f", "-p", str(port), "-h", "/www", **fields)


def job(name: str, *command: str, backoff_limit: int = 0) -> dict[str, Any]:
    return {"name": name, "type": "Job", "properties": {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": backoff_limit, "template": {"spec": {
            "restartPolicy": "Never", "containers": [container("main", *command)]}}}}}
