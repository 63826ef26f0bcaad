"""Every shipped set-up gives the services an internal token, generated when none is given."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import yaml

from tests.deploy.conftest import DEPLOY, KUBERNETES, find
from tests.support import kubectl

SERVICES = ("manager", "expander", "resourcifier")


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_every_compose_service_reads_the_generated_token_once_it_exists():
    services = compose()["services"]
    runs_dm = {
        name: service for name, service in services.items()
        if str(service.get("command", [""])[0]).startswith("dm-")
    }
    assert len(runs_dm) == 4
    for name, service in runs_dm.items():
        assert service["environment"]["DM_INTERNAL_TOKEN_FILE"] == "/run/dm/internal-token", name
        assert "dm-secrets:/run/dm:ro" in service["volumes"], name
        assert service["depends_on"]["internal-token"] == {
            "condition": "service_completed_successfully"
        }, name
    assert "dm-secrets:/run/dm" in services["internal-token"]["volumes"]


def test_the_compose_token_generator_writes_a_token_once(tmp_path):
    script = compose()["services"]["internal-token"]["command"][2]
    script = script.replace("/run/dm", str(tmp_path))
    subprocess.run([sys.executable, "-c", script], check=True)
    first = (tmp_path / "internal-token").read_text()
    subprocess.run([sys.executable, "-c", script], check=True)
    assert len(first) == 64
    assert (tmp_path / "internal-token").read_text() == first


def test_every_kubernetes_service_requires_the_token_secret(manifests):
    for name in SERVICES:
        deployment = find(manifests, "Deployment", name)
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        token = next(item for item in env if item["name"] == "DM_INTERNAL_TOKEN")
        assert token["valueFrom"]["secretKeyRef"] == {"name": "dm-tokens", "key": "internal-token"}


def run_token_job(simulator, manifests) -> None:
    job = find(manifests, "Job", "internal-token")
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    env = {**os.environ, "KUBECONFIG": str(simulator.kubeconfig)}
    subprocess.run([sys.executable, *command[1:]], env=env, check=True, timeout=60)


def stored_token(simulator) -> str:
    secret = json.loads(
        kubectl(simulator.kubeconfig, "-n", "dm", "get", "secret", "dm-tokens", "-o", "json").stdout
    )
    return base64.b64decode(secret["data"]["internal-token"]).decode()


def test_the_kubernetes_job_generates_the_token_once(empty_simulator, manifests):
    kubectl(empty_simulator.kubeconfig, "apply", "-f", str(KUBERNETES / "00-namespace.yaml"))

    run_token_job(empty_simulator, manifests)
    first = stored_token(empty_simulator)
    run_token_job(empty_simulator, manifests)

    assert len(first) == 64
    assert stored_token(empty_simulator) == first


def test_the_kubernetes_job_adds_the_token_to_a_secret_that_lacks_it(empty_simulator, manifests):
    config = empty_simulator.kubeconfig
    kubectl(config, "apply", "-f", str(KUBERNETES / "00-namespace.yaml"))
    kubectl(config, "-n", "dm", "create", "secret", "generic", "dm-tokens",
            "--from-literal=api-token=mine")

    run_token_job(empty_simulator, manifests)

    assert len(stored_token(empty_simulator)) == 64
