"""Fixtures for the resourcifier's tests: namespaces on the simulator, special service instances."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support import kubectl, start_service

_numbers = itertools.count()


@pytest.fixture
def namespace(simulator) -> str:
    """A fresh namespace on the simulator, so tests never see each other's objects."""
    name = f"rt-{os.getpid()}-{next(_numbers)}"
    create_namespace(simulator.kubeconfig, name)
    return name


def create_namespace(kubeconfig: Path, name: str) -> None:
    """Create a namespace with kubectl from JSON (typed `kubectl create namespace` sends
    protobuf, which the simulator does not read)."""
    subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "create", "-f", "-"],
        input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        capture_output=True, text=True, timeout=60, check=True,
    )


def config_map(name: str, namespace: str | None = None, **data: str) -> dict[str, Any]:
    """A Resource whose properties are a ConfigMap."""
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "name": name,
        "type": "ConfigMap",
        "properties": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
                       "data": data or {"key": "value"}},
    }


def deployment(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Resource whose properties are a small Deployment; `labels` on the pod template."""
    labels = labels or {"app": name}
    return {
        "name": name,
        "type": "Deployment",
        "properties": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
                },
            },
        },
    }


def live_names(simulator, kind: str, namespace: str) -> list[str]:
    """Names of the objects of `kind` in `namespace`, read with kubectl directly."""
    out = kubectl(simulator.kubeconfig, "get", kind, "-n", namespace, "-o", "json").stdout
    return sorted(item["metadata"]["name"] for item in json.loads(out)["items"])


def post(url: str, body: Any, method: str = "POST", **params: str) -> requests.Response:
    return requests.request(method, f"{url}/configurations", json=body, params=params, timeout=60)


class KubectlLog:
    """The kubectl calls a service made, recorded by a wrapper script that execs kubectl."""

    def __init__(self, path: Path):
        self.path = path

    def calls(self) -> list[str]:
        """One line per kubectl process started: its arguments."""
        return self.path.read_text().splitlines() if self.path.exists() else []

    def clear(self) -> None:
        self.path.write_text("")


def counting_kubectl(directory: Path) -> tuple[Path, KubectlLog]:
    """A kubectl stand-in that appends its arguments to a log, then becomes the real one."""
    log = KubectlLog(directory / "kubectl-calls.log")
    script = directory / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f"echo \"$*\" >> '{log.path}'\n"
        f"exec '{shutil.which('kubectl')}' \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


@pytest.fixture
def counted(tmp_path, simulator) -> tuple[str, KubectlLog]:
    """A one-worker resourcifier whose kubectl calls are logged: (url, log)."""
    script, log = counting_kubectl(tmp_path)
    process, url = start_service(
        "resourcifier",
        tmp_path,
        ["--workers", "1", "--kubectl", str(script), "--kubeconfig", str(simulator.kubeconfig)],
    )
    yield url, log
    process.stop()
