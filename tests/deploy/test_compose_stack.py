"""deploy/docker-compose.yml started for real by each Compose program, as docs/running.md says."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import sys
from pathlib import Path

import docker
import pytest
import requests

from tests.deploy.compose import (
    compose_v1,
    compose_v2,
    documented_steps,
    on_path_as_docker_compose,
    run_step,
)
from tests.resourcifier.backends.docker.engine import NAMESPACE_LABEL, engine_client
from tests.resourcifier.backends.docker.helpers import containers_of, run, running_ids
from tests.support import ServiceProcess, free_port, kubectl, wait_until

# Image build (cached after the first), container start-up and a deployment per test.
pytestmark = [pytest.mark.slow, pytest.mark.docker, pytest.mark.timeout(900)]

# The documented guestbook: deployment guestbook in namespace default. Other tests run
# guestbooks of their own on the same engine, in namespaces of their own.
GUESTBOOK_LABELS = ["deployment-manager.io/deployment=guestbook", f"{NAMESPACE_LABEL}=default"]
PROJECT_LABEL = "com.docker.compose.project"


@pytest.fixture(scope="module")
def docker_client():
    client = engine_client()
    yield client
    client.close()


@pytest.fixture(params=["v1", "v2"])
def compose_env(request, tmp_path, docker_client) -> dict[str, str]:
    """The environment of a user's shell whose `docker-compose` is the program under test."""
    program = compose_v1() if request.param == "v1" else compose_v2()
    port = free_port()
    project = f"dmtest{os.getpid()}{request.param}"
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("COMPOSE_", "DM_"))
    }
    env.update(
        PATH=on_path_as_docker_compose(program, tmp_path / "bin"),
        COMPOSE_PROJECT_NAME=project,
        DM_MANAGER_PORT=str(port),
        DM_SERVICE=f"http://127.0.0.1:{port}",
    )
    yield env
    # After a failure: take away whatever the test got to. Through the engine, not
    # `down`: Compose v2 leaves the containers of profiles that are not active.
    remove_project(docker_client, project)


def remove_project(client, project: str) -> None:
    label = {"label": f"{PROJECT_LABEL}={project}"}
    for container in client.containers.list(all=True, filters=label):
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True, v=True)
    for network in client.networks.list(filters=label):
        with contextlib.suppress(docker.errors.APIError):
            network.remove()
    for volume in client.volumes.list(filters=label):
        with contextlib.suppress(docker.errors.APIError):
            volume.remove(force=True)


def left_behind(client, project: str, label: dict[str, str]) -> str:
    """What is still there, for a failure's message: the containers and the resourcifier's
    last log lines."""
    containers = [(c.name, c.status, c.attrs["Created"])
                  for c in client.containers.list(all=True, filters=label)]
    resourcifier = client.containers.list(all=True, filters={"label": [
        f"{PROJECT_LABEL}={project}", "com.docker.compose.service=resourcifier-docker"]})
    logs = resourcifier[0].logs(tail=40).decode(errors="replace") if resourcifier else ""
    return f"left behind: {containers}\nresourcifier's log:\n{logs}"


def project_objects(client, project: str) -> dict[str, list[str]]:
    label = f"{PROJECT_LABEL}={project}"
    return {
        "containers": [c.name for c in client.containers.list(all=True, filters={"label": label})],
        "networks": [n.name for n in client.networks.list(filters={"label": label})],
        "volumes": [v.name for v in client.volumes.list(filters={"label": label})],
    }


def running_services(client, project: str) -> set[str]:
    label = f"{PROJECT_LABEL}={project}"
    return {c.labels["com.docker.compose.service"]
            for c in client.containers.list(filters={"label": label})}


@pytest.fixture
def default_network(docker_client):
    """The docker backend's network of namespace `default`: removed after if it was new.

    After a failure the guestbook's containers and volumes go too.
    """
    name = "dm-default"
    existed = bool(docker_client.networks.list(names=[name]))
    yield name
    label = {"label": GUESTBOOK_LABELS}
    for container in docker_client.containers.list(all=True, filters=label):
        # One the engine is already removing answers 409: it goes anyway.
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)
    for volume in docker_client.volumes.list(filters=label):
        volume.remove(force=True)
    if not existed:
        for network in docker_client.networks.list(names=[name]):
            network.remove()


def test_documented_steps_deploy_the_guestbook_on_the_docker_backend(
    compose_env, docker_client, default_network
):
    start, deploy, delete, stop = documented_steps("### The guestbook on the Docker backend")
    project = compose_env["COMPOSE_PROJECT_NAME"]

    env = run_step(start, compose_env)
    assert running_services(docker_client, project) == {
        "expander-service", "resourcifier-docker", "manager-sqlite"}
    manager = docker_client.containers.list(filters={"label": [
        f"{PROJECT_LABEL}={project}", "com.docker.compose.service=manager-sqlite"]})[0]
    assert manager.attrs["HostConfig"]["PortBindings"]["8080/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": compose_env["DM_MANAGER_PORT"]}]

    run_step(deploy, env)
    # dm deploy returns once the manager accepted the operation; it runs on.
    guestbook = env["DM_SERVICE"] + "/deployments/guestbook"
    assert wait_until(lambda: requests.get(guestbook, timeout=5).json()["deployedAt"],
                      timeout=180, interval=0.5)
    assert len(running_ids(docker_client, "default", "frontend")) == 2
    frontend = containers_of(docker_client, "default", "frontend")[0]
    assert frontend.labels["deployment-manager.io/deployment"] == "guestbook"
    reach = wait_until(lambda: run(frontend, "wget", "-qO-", "http://redis-leader:6379/"))
    assert reach == "leader\n"
    assert run(frontend, "wget", "-qO-", "http://redis-follower:6379/") == "follower\n"

    run_step(delete, env)
    assert wait_until(lambda: requests.get(guestbook, timeout=5).status_code == 404,
                      timeout=180, interval=0.5)
    label = {"label": GUESTBOOK_LABELS}
    # The engine may still be removing the last container when the record is gone.
    try:
        wait_until(lambda: docker_client.containers.list(all=True, filters=label) == [],
                   timeout=60, interval=0.5)
    except TimeoutError:
        pytest.fail(left_behind(docker_client, project, label))
    assert docker_client.volumes.list(filters=label) == []

    run_step(stop, env)
    assert project_objects(docker_client, project) == {
        "containers": [], "networks": [], "volumes": []}


@pytest.fixture
def reachable_simulator(tmp_path, docker_client):
    """The simulator on the engine's bridge address, so containers reach it; its kube dir."""
    (ipam,) = docker_client.networks.get("bridge").attrs["IPAM"]["Config"]
    # The engine reports no gateway when it was started without iptables: the bridge
    # then has the subnet's first address.
    gateway = ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))
    kube_dir = tmp_path / "kube"
    kube_dir.mkdir()
    port = free_port()
    process = ServiceProcess(
        "simulator",
        [sys.executable, "-m", "kubesim", "--host", gateway, "--port", str(port),
         "--kubeconfig", str(kube_dir / "config")],
        f"http://{gateway}:{port}/healthz",
        log_path=tmp_path / "sim.log",
    )
    # The services run as uid 10001: the mounted directory and file must be readable.
    kube_dir.chmod(0o755)
    (kube_dir / "config").chmod(0o644)
    yield kube_dir
    process.stop()


def test_composed_resourcifier_applies_with_kubectl_to_the_simulator(
    compose_env, docker_client, reachable_simulator, tmp_path
):
    env = {
        **compose_env,
        "COMPOSE_PROFILES": "kubernetes,sqlite",
        "DM_KUBE_DIR": str(reachable_simulator),
        "DM_INTERNAL_TOKEN": secrets.token_hex(16),
    }
    up = "docker-compose -f deploy/docker-compose.yml up -d"
    run_step(up, env)
    assert running_services(docker_client, env["COMPOSE_PROJECT_NAME"]) == {
        "expander-service", "resourcifier-kubectl", "manager-sqlite"}
    ready = wait_until(lambda: requests.get(env["DM_SERVICE"] + "/readyz", timeout=5).ok,
                       timeout=180, interval=1)
    assert ready

    config = tmp_path / "settings.yaml"
    config.write_text(
        "resources:\n- name: settings\n  type: ConfigMap\n  properties:\n"
        "    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: settings}\n"
        "    data: {colour: blue}\n")
    run_step(f"dm deploy {config} --name settings", env)
    settings = env["DM_SERVICE"] + "/deployments/settings"
    assert wait_until(lambda: requests.get(settings, timeout=5).json()["deployedAt"],
                      timeout=180, interval=0.5)
    stored = kubectl(reachable_simulator / "config", "get", "configmap", "settings", "-o", "json")
    assert json.loads(stored.stdout)["data"] == {"colour": "blue"}

    run_step("dm delete settings", env)
    assert wait_until(lambda: requests.get(settings, timeout=5).status_code == 404,
                      timeout=180, interval=0.5)
    gone = kubectl(reachable_simulator / "config", "get", "configmap", "settings", check=False)
    assert gone.returncode != 0
    run_step("docker-compose -f deploy/docker-compose.yml down -v", env)
    assert project_objects(docker_client, env["COMPOSE_PROJECT_NAME"]) == {
        "containers": [], "networks": [], "volumes": []}


def test_a_missing_kubeconfig_stops_the_resourcifier_with_a_message(
    compose_env, docker_client, tmp_path
):
    empty = tmp_path / "no-kubeconfig"
    empty.mkdir()
    empty.chmod(0o755)
    env = {**compose_env, "COMPOSE_PROFILES": "kubernetes", "DM_KUBE_DIR": str(empty),
           "DM_INTERNAL_TOKEN": "x"}
    run_step("docker-compose -f deploy/docker-compose.yml up -d resourcifier-kubectl", env)
    label = [f"{PROJECT_LABEL}={env['COMPOSE_PROJECT_NAME']}",
             "com.docker.compose.service=resourcifier-kubectl"]
    (container,) = docker_client.containers.list(all=True, filters={"label": label})
    logs = wait_until(lambda: container.logs().decode(), timeout=60, interval=0.5)
    assert logs.splitlines()[0] == (
        "no kubeconfig at /etc/dm/kube/config: set DM_KUBE_DIR and DM_KUBECONFIG_NAME to "
        "your kubeconfig's directory and file name")
    assert list(Path(empty).iterdir()) == []
    run_step("docker-compose -f deploy/docker-compose.yml down -v", env)
