"""The expander's readiness: ready once its worker's sandbox expands."""

from __future__ import annotations

import os
import signal

import requests
from prometheus_client import REGISTRY

from dmcommon.errors import ServiceUnavailable
from expander.app import create_app


def expansions() -> float:
    return REGISTRY.get_sample_value("dm_expansions_total", {"outcome": "succeeded"}) or 0.0


def test_ready_once_the_sandbox_expands_without_counting_an_expansion(app, client):
    before = expansions()
    response = client.get("/readyz")
    assert (response.status_code, response.text) == (200, "ready")
    assert app.extensions["expander"].server_pid is not None
    assert expansions() == before


def test_ready_again_after_the_fork_server_died(app, client):
    assert client.get("/readyz").status_code == 200
    os.kill(app.extensions["expander"].server_pid, signal.SIGKILL)
    assert client.get("/readyz").status_code == 200


def test_not_ready_says_why():
    class Broken:
        def check(self):
            raise ServiceUnavailable("the template sandbox cannot expand: it is broken")

    client = create_app({}, sandbox=Broken()).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": 503,
        "message": "the template sandbox cannot expand: it is broken",
    }


def test_readiness_needs_no_internal_token(confined):
    response = requests.get(f"{confined.url}/readyz", timeout=30)
    assert (response.status_code, response.text) == (200, "ready")
    assert requests.post(f"{confined.url}/expand", json={}, timeout=30).status_code == 401
