"""Wiring of the real collaborators at start-up: discovery failures, crash recovery."""

import re
from pathlib import Path

import pytest
import yaml

from manager.app import create_app
from manager.models import DEPLOYING, Deployment, State, utc_now
from manager.repository import open_repository

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def isolated_env(monkeypatch):
    for name in ("EXPANDER_SERVICE_SERVICE_HOST", "RESOURCIFIER_SERVICE_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)


def test_undiscoverable_services_leave_the_manager_up_but_not_ready(tmp_path, isolated_env, caplog):
    app = create_app({"DATA_DIR": str(tmp_path), "EXPANDER_URL": None, "RESOURCIFIER_URL": None})
    assert 'cannot find the service "expander-service"' in caplog.text
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    message = response.get_json()["message"]
    assert 'expander: cannot find the service "expander-service"' in message
    assert 'resourcifier: cannot find the service "resourcifier-service"' in message
    deploy = client.post("/deployments", json={"name": "app", "content": "resources: []"})
    assert deploy.status_code == 503
    assert client.get("/deployments/app").status_code == 404


def test_start_up_leaves_operations_of_live_processes_alone(tmp_path, isolated_env):
    url = f"sqlite:///{tmp_path / 'dm.sqlite'}"
    live_repository = open_repository(url, str(tmp_path))
    now = utc_now()
    live_repository.create_deployment(
        Deployment(name="busy", namespace="default", created_at=now, state=State(DEPLOYING))
    )
    config = {"DATABASE_URL": url, "EXPANDER_URL": "http://x", "RESOURCIFIER_URL": "http://y"}
    client = create_app(config).test_client()
    # This process owns the operation and is alive: a new app must leave it running.
    assert client.get("/deployments/busy").get_json()["state"]["status"] == DEPLOYING
    live_repository.close()


def test_the_openapi_document_lists_every_route(client):
    document = yaml.safe_load((ROOT / "docs" / "openapi" / "manager.yaml").read_text())
    documented = {
        (path, method.upper())
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    app = client.application
    served = {
        (re.sub(r"<(?:path:)?(\w+)>", r"{\1}", rule.rule).replace("{type_name}", "{type}").replace("{operation_id}", "{id}"), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
