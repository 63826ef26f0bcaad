"""deploy/docker-compose.yml: what discovery and state need of it (parsed, no engine needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from manager.locate import DEFAULT_PORTS, discover_service_url
from tests.deploy.conftest import DEPLOY, DESIGN_PORTS


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


class ComposeDns:
    """Name resolution on the Compose network: service names and aliases, no SRV records."""

    def __init__(self, compose: dict):
        self.names = set()
        for name, service in compose["services"].items():
            self.names.add(name)
            for network in (service.get("networks") or {}).values():
                self.names.update((network or {}).get("aliases", []))

    def addresses(self, host: str) -> list[str]:
        return ["172.18.0.2"] if host in self.names else []

    def srv(self, name: str) -> list:
        return []


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.mark.parametrize("name", sorted(DESIGN_PORTS))
def test_each_service_listens_on_its_design_port_on_all_interfaces(compose, name):
    command = compose["services"][name]["command"]
    assert command[0] == "dm-" + name.removesuffix("-service")
    assert flag(command, "--port") == str(DESIGN_PORTS[name])
    assert flag(command, "--host") == "0.0.0.0"


@pytest.mark.parametrize("name", ["expander-service", "resourcifier-service"])
def test_manager_finds_the_services_by_name_on_the_compose_network(compose, name):
    env = compose["services"]["manager-service"]["environment"]
    assert "DM_EXPANDER_URL" not in env
    # Unset by default, so discovery runs; set only to pick the docker-backend profile.
    assert env["DM_RESOURCIFIER_URL"] == "${DM_RESOURCIFIER_URL:-}"
    url = discover_service_url(name, None, DEFAULT_PORTS[name], {}, ComposeDns(compose))
    assert url == f"http://{name}:{DESIGN_PORTS[name]}"


def test_manager_is_published_and_waits_for_the_others(compose):
    manager = compose["services"]["manager-service"]
    assert manager["ports"] == ["${DM_MANAGER_PORT:-8080}:8080"]
    assert set(manager["depends_on"]) == {"expander-service", "resourcifier-service"}
    assert "ports" not in compose["services"]["expander-service"]
    assert "ports" not in compose["services"]["resourcifier-service"]


def test_sqlite_lives_on_a_named_volume(compose):
    manager = compose["services"]["manager-service"]
    env = manager["environment"]
    volume, _, target = manager["volumes"][0].partition(":")
    assert volume in compose["volumes"]
    assert env["DM_DATA_DIR"] == target
    default_url = env["DM_DATABASE_URL"].removeprefix("${DM_DATABASE_URL:-").removesuffix("}")
    assert default_url == f"sqlite:///{target}/dm.sqlite"


def test_resourcifier_reads_the_users_kubeconfig_read_only(compose):
    resourcifier = compose["services"]["resourcifier-service"]
    source, target, mode = resourcifier["volumes"][0].rsplit(":", 2)
    assert source == "${KUBECONFIG:-~/.kube/config}"
    assert mode == "ro"
    assert resourcifier["environment"]["DM_KUBECONFIG"] == target


def test_all_services_run_the_one_image_built_from_the_dockerfile(compose):
    for name in DESIGN_PORTS:
        service = compose["services"][name]
        assert service["image"] == "deployment-manager:0.1.0"
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY.parent / compose["services"]["manager-service"]["build"]["dockerfile"]).is_file()


def test_postgres_is_an_optional_profile(compose):
    postgres = compose["services"]["postgres"]
    assert postgres["profiles"] == ["postgres"]
    assert all("profiles" not in compose["services"][name] for name in DESIGN_PORTS)


def test_dockerfile_installs_kubectl_and_runs_as_a_non_root_user():
    text = (DEPLOY / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines.count("FROM python:3.11-slim") == 1
    assert "COPY --from=kubectl /kubectl /usr/local/bin/kubectl" in lines
    user = [line for line in lines if line.startswith("USER ")]
    assert user == ["USER 10001:10001"]
    assert (
        Path(DEPLOY / "kubernetes" / "30-manager.yaml").read_text().count("runAsUser: 10001") == 1
    )
