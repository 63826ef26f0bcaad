"""Wiring of the real collaborators at start-up: discovery failures, crash recovery."""

import os
import re
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from manager.app import create_app
from manager.repository.schema import operations
from manager.template_input import template_from_body
from manager.workflow import Create
from tests.manager.helpers import config_map, template
from tests.support import wait_until

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


def test_a_started_app_resumes_operations_whose_owner_died_and_leaves_live_ones(fakes):
    parked = replace(fakes, runner=None)
    dead = Create(parked).start(template_from_body(template("dead", config_map("a"))))
    live = Create(parked).start(template_from_body(template("live", config_map("b"))))
    with fakes.repository._transaction(write=True) as conn:  # noqa: SLF001 - set up owners
        conn.execute(
            update(operations).where(operations.c.id == dead.id).values(owner=_dead_owner())
        )
        conn.execute(
            update(operations).where(operations.c.id == live.id).values(owner=_live_owner())
        )
    app = create_app({"EXPANDER_URL": "http://x", "RESOURCIFIER_URL": "http://y"}, parked)
    for start in app.extensions["dm.start"]:
        start()
    try:
        resumed = wait_until(lambda: _ended(fakes, dead.id))
        assert resumed.status == "Succeeded"
        assert fakes.resourcifier.names("ConfigMap") == {"a"}
        assert fakes.repository.get_operation(live.id).status == "Pending"
    finally:
        parked.runner.stop()


def _dead_owner() -> str:
    """The owner name of a process of this host that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}/{child.pid}/0"


def _live_owner() -> str:
    """The owner name of a live process on this host other than this one: our parent."""
    parent = os.getppid()
    with open(f"/proc/{parent}/stat") as stat:
        started = stat.read().rpartition(")")[2].split()[19]
    return f"{socket.gethostname()}/{parent}/{started}"


def _ended(services, operation_id):
    operation = services.repository.get_operation(operation_id)
    return operation if operation.ended else None


def _documented_path(rule: str) -> str:
    path = re.sub(r"<(?:path:)?(\w+)>", r"{\1}", rule)
    return path.replace("{type_name}", "{type}").replace("{operation_id}", "{id}")


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
        (_documented_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
