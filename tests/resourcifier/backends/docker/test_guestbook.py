"""The guestbook-shaped example through the whole stack onto a real engine.

`dm deploy` → manager → expander → resourcifier on the docker backend; then the
frontend reaches the leader by its Service name, `dm update` scales the frontend, and
`dm delete` leaves nothing the backend made.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml

from manager.models import IN_PROGRESS
from tests.contract.conftest import namespace_resource
from tests.resourcifier.backends.docker.engine import NAMESPACE_LABEL, leftovers
from tests.resourcifier.backends.docker.helpers import containers_of, run, running_ids
from tests.support import BIN, start_manager, wait_until

pytestmark = pytest.mark.docker

EXAMPLE = Path(__file__).parent / "guestbook"


@pytest.fixture
def manager_url(tmp_path, expander_url, docker_resourcifier) -> str:
    process, url = start_manager(tmp_path, expander_url, docker_resourcifier)
    yield url
    process.stop()


@pytest.fixture
def example(tmp_path) -> Path:
    """A copy of the example that the test may edit."""
    folder = tmp_path / "guestbook"
    shutil.copytree(EXAMPLE, folder)
    return folder / "guestbook.yaml"


def dm(manager_url: str, *args: str) -> str:
    result = subprocess.run([str(BIN / "dm"), "--service", manager_url, *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def settled(manager_url: str, name: str) -> dict | None:
    """The deployment once no operation runs on it (`{}` once it is gone), else None."""
    response = requests.get(f"{manager_url}/deployments/{name}", timeout=30)
    if response.status_code == 404:
        return {}
    deployment = response.json()
    return None if deployment["state"]["status"] in IN_PROGRESS else deployment


def set_frontend_replicas(config: Path, replicas: int) -> None:
    content = yaml.safe_load(config.read_text())
    content["resources"][0]["properties"]["replicas"] = replicas
    config.write_text(yaml.safe_dump(content))


def test_guestbook_deploys_scales_and_goes_away(
    manager_url, example, backend, namespace, docker_client
):
    dm(manager_url, "deploy", str(example), "--name", "guestbook", "--namespace", namespace)
    deployed = wait_until(lambda: settled(manager_url, "guestbook"), timeout=180)
    assert deployed["state"]["status"] == "Deployed", deployed["state"]
    assert deployed["health"]["status"] == "Healthy"
    assert len(running_ids(docker_client, namespace, "frontend")) == 2
    assert len(running_ids(docker_client, namespace, "redis-follower")) == 2
    frontend = containers_of(docker_client, namespace, "frontend")[0]
    assert frontend.labels["deployment-manager.io/deployment"] == "guestbook"
    reach = wait_until(lambda: run(frontend, "wget", "-qO-", "http://redis-leader:6379/"))
    assert reach == "leader\n"
    assert run(frontend, "wget", "-qO-", "http://redis-follower:6379/") == "follower\n"

    set_frontend_replicas(example, 3)
    dm(manager_url, "update", str(example), "--name", "guestbook")
    updated = wait_until(lambda: settled(manager_url, "guestbook"), timeout=180)
    assert updated["state"]["status"] == "Deployed", updated["state"]
    assert len(running_ids(docker_client, namespace, "frontend")) == 3
    assert backend.get("deployments/frontend", namespace).json()["status"]["readyReplicas"] == 3

    dm(manager_url, "delete", "guestbook")
    assert wait_until(lambda: settled(manager_url, "guestbook") == {}, timeout=180)
    left = leftovers(docker_client, namespace)
    assert left == {"containers": [], "volumes": [], "networks": [f"dm-{namespace}"]}

    backend.delete([namespace_resource(namespace)], namespace)
    assert docker_client.networks.list(filters={"label": f"{NAMESPACE_LABEL}={namespace}"}) == []
