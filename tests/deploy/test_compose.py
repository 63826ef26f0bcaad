"""deploy/docker-compose.yml as each Compose program reads it, under every profile."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from manager.locate import DEFAULT_PORTS, discover_service_url
from tests.deploy.compose import COMPOSE_FILE, PROFILES, ROOT, compose_v1, compose_v2
from tests.deploy.conftest import DESIGN_PORTS

PROGRAMS = {"v1": compose_v1, "v2": compose_v2}


def config(program: Path, profiles: str, *flags: str, **variables: str
           ) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("COMPOSE_", "DM_"))}
    env.update(COMPOSE_PROFILES=profiles, COMPOSE_PROJECT_NAME="dm", **variables)
    return subprocess.run([str(program), "-f", str(COMPOSE_FILE), "config", *flags], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module", params=sorted(PROGRAMS))
def program(request) -> Path:
    return PROGRAMS[request.param]()


@pytest.fixture(scope="module")
def resolved(program) -> dict[str, dict]:
    """profiles -> the services the program would run, after its own validation."""
    models = {}
    for profiles in PROFILES:
        result = config(program, profiles, DM_INTERNAL_TOKEN="s3cret", DM_MANAGER_PORT="18080")
        assert result.returncode == 0, result.stderr
        # Compose 1.29 prints every service; the profiles say which run.
        models[profiles] = {
            name: service
            for name, service in yaml.safe_load(result.stdout)["services"].items()
            if set(service.get("profiles") or profiles.split(",")) & set(profiles.split(","))
        }
    return models


def test_each_profile_pair_runs_one_manager_one_resourcifier_and_the_expander(resolved):
    assert {profiles: sorted(services) for profiles, services in resolved.items()} == {
        "kubernetes,sqlite": ["expander-service", "manager-sqlite", "resourcifier-kubectl"],
        "kubernetes,postgres": ["expander-service", "manager-postgres", "postgres",
                                "resourcifier-kubectl"],
        "docker,sqlite": ["expander-service", "manager-sqlite", "resourcifier-docker"],
        "docker,postgres": ["expander-service", "manager-postgres", "postgres",
                            "resourcifier-docker"],
    }


def aliases(service: dict) -> list[str]:
    return ((service.get("networks") or {}).get("default") or {}).get("aliases", [])


# Compose 1.29 prints ports and volumes in their short form, v2 in the long one.
def port_of(entry: str | dict) -> tuple[str, str, int]:
    if isinstance(entry, str):
        host_ip, published, target = entry.removesuffix("/tcp").split(":")
        return host_ip, published, int(target)
    return entry["host_ip"], str(entry["published"]), entry["target"]


def volume_of(entry: str | dict) -> tuple[str, str]:
    if isinstance(entry, str):
        source, target, _ = entry.split(":")
        return source, target
    return entry["source"], entry["target"]


class ComposeDns:
    """Name resolution on the Compose network: service names and aliases, no SRV records."""

    def __init__(self, services: dict):
        self.names = set(services)
        for service in services.values():
            self.names.update(aliases(service))

    def addresses(self, host: str) -> list[str]:
        return ["172.18.0.2"] if host in self.names else []

    def srv(self, name: str) -> list:
        return []


@pytest.mark.parametrize("name", ["expander-service", "resourcifier-service"])
def test_manager_finds_the_services_by_name_under_every_profile(resolved, name):
    for services in resolved.values():
        (manager,) = [s for s in services.values() if "manager-service" in aliases(s)]
        assert not manager["environment"].keys() & {"DM_EXPANDER_URL", "DM_RESOURCIFIER_URL"}
        url = discover_service_url(name, None, DEFAULT_PORTS[name], {}, ComposeDns(services))
        assert url == f"http://{name}:{DESIGN_PORTS[name]}"


def test_only_the_manager_is_published_and_on_this_machine_only(resolved):
    for services in resolved.values():
        published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
        (manager,) = published.values()
        (port,) = manager
        assert port_of(port) == ("127.0.0.1", "18080", 8080)


def test_the_three_services_share_the_internal_token(resolved):
    for services in resolved.values():
        dm = [s for name, s in services.items() if name != "postgres"]
        assert {s["environment"]["DM_INTERNAL_TOKEN"] for s in dm} == {"s3cret"}


def test_without_an_internal_token_nothing_starts(program):
    result = config(program, "docker,sqlite")
    assert result.returncode != 0
    assert "set DM_INTERNAL_TOKEN to a secret shared by the three services" in result.stderr


def test_managers_wait_for_healthy_dependencies(resolved):
    sqlite = resolved["docker,sqlite"]["manager-sqlite"]
    postgres = resolved["docker,postgres"]["manager-postgres"]
    conditions = {name: item["condition"] for name, item in sqlite["depends_on"].items()}
    assert conditions == {"expander-service": "service_healthy"}
    conditions = {name: item["condition"] for name, item in postgres["depends_on"].items()}
    assert conditions == {"expander-service": "service_healthy", "postgres": "service_healthy"}
    for services in resolved.values():
        assert all("healthcheck" in service for service in services.values())


def test_sqlite_lives_on_a_named_volume(resolved):
    manager = resolved["docker,sqlite"]["manager-sqlite"]
    assert manager["environment"]["DM_DATABASE_URL"] == "sqlite:////data/dm.sqlite"
    (volume,) = manager["volumes"]
    assert volume_of(volume) == ("dm-data", "/data")


def test_kubernetes_profile_mounts_the_kube_directory_read_only(resolved, program, tmp_path):
    resourcifier = resolved["kubernetes,sqlite"]["resourcifier-kubectl"]
    (volume,) = resourcifier["volumes"]
    assert (volume["type"], volume["source"], volume["target"], volume["read_only"]) == (
        "bind", str(Path.home() / ".kube"), "/etc/dm/kube", True)
    assert resourcifier["environment"]["DM_KUBECONFIG"] == "/etc/dm/kube/config"
    result = config(program, "kubernetes,sqlite", DM_INTERNAL_TOKEN="x",
                    DM_KUBE_DIR=str(tmp_path), DM_KUBECONFIG_NAME="sim.kubeconfig")
    service = yaml.safe_load(result.stdout)["services"]["resourcifier-kubectl"]
    assert service["volumes"][0]["source"] == str(tmp_path)
    assert service["environment"]["DM_KUBECONFIG"] == "/etc/dm/kube/sim.kubeconfig"


def test_docker_profile_mounts_the_engine_socket(resolved):
    resourcifier = resolved["docker,sqlite"]["resourcifier-docker"]
    assert resourcifier["environment"]["DM_RESOURCIFIER_BACKEND"] == "docker"
    (volume,) = resourcifier["volumes"]
    assert (volume["source"], volume["target"]) == ("/var/run/docker.sock",
                                                    "/var/run/docker.sock")


def test_dm_services_run_the_image_scripts_image_sh_builds(resolved):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for services in resolved.values():
        images = {s["image"] for name, s in services.items() if name != "postgres"}
        assert images == {f"deployment-manager:{version}"}
