"""The HTTP metrics and `/metrics` every service gets from dmcommon.metrics."""

from __future__ import annotations

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from dmcommon.auth import require_bearer_token
from dmcommon.metrics import instrument
from dmcommon.web import register_error_handlers


@pytest.fixture
def client():
    app = Flask(__name__)
    instrument(app)
    register_error_handlers(app)
    require_bearer_token(app, "secret")

    @app.get("/things/<name>")
    def thing(name: str):
        return name

    return app.test_client()


def requests_total(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return REGISTRY.get_sample_value("dm_http_requests_total", labels) or 0.0


def seconds_count(route: str, method: str) -> float:
    labels = {"route": route, "method": method}
    return REGISTRY.get_sample_value("dm_http_request_duration_seconds_count", labels) or 0.0


def test_requests_are_counted_by_url_rule_not_by_path(client):
    before = requests_total("/things/<name>", "GET", "200")
    auth = {"Authorization": "Bearer secret"}
    assert client.get("/things/a", headers=auth).text == "a"
    assert client.get("/things/b", headers=auth).text == "b"
    assert requests_total("/things/<name>", "GET", "200") - before == 2
    assert REGISTRY.get_sample_value(
        "dm_http_requests_total", {"route": "/things/a", "method": "GET", "status": "200"}
    ) is None


def test_a_request_refused_by_the_token_check_is_counted_and_timed(client):
    before = requests_total("/things/<name>", "GET", "401")
    timed = seconds_count("/things/<name>", "GET")
    assert client.get("/things/a").status_code == 401
    assert requests_total("/things/<name>", "GET", "401") - before == 1
    assert seconds_count("/things/<name>", "GET") - timed == 1


def test_a_path_no_rule_matches_is_counted_as_unmatched(client):
    before = requests_total("unmatched", "GET", "404")
    client.get("/nowhere/at/all", headers={"Authorization": "Bearer secret"})
    assert requests_total("unmatched", "GET", "404") - before == 1


def test_metrics_are_served_in_the_text_format_without_the_token(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    assert "# TYPE dm_http_requests_total counter" in response.text
