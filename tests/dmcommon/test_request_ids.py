"""Request ids: taken from the caller when fit, made otherwise, answered back, and bound
for the code that serves the request."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from dmcommon.request_ids import RequestIds, bound_request_id, current_request_id


@pytest.fixture
def client():
    app = Flask(__name__)
    app.wsgi_app = RequestIds(app.wsgi_app)

    @app.get("/id")
    def seen():
        return current_request_id() or ""

    return app.test_client()


def test_the_id_a_caller_sends_is_served_with_and_answered(client):
    response = client.get("/id", headers={"X-Request-ID": "trace-42.a:b"})
    assert response.text == "trace-42.a:b"
    assert response.headers["X-Request-ID"] == "trace-42.a:b"


def test_a_request_without_an_id_gets_a_new_one_per_request(client):
    first = client.get("/id")
    second = client.get("/id")
    assert re.fullmatch(r"[0-9a-f]{32}", first.text)
    assert first.headers["X-Request-ID"] == first.text
    assert second.text != first.text


@pytest.mark.parametrize("sent", ["has space", "x" * 129, "<script>", "ünïcode", ""])
def test_an_id_unfit_for_a_log_line_is_replaced(client, sent):
    response = client.get("/id", headers={"X-Request-ID": sent})
    assert re.fullmatch(r"[0-9a-f]{32}", response.text)


def test_the_id_is_bound_only_inside_its_block():
    assert current_request_id() is None
    with bound_request_id("outer"):
        with bound_request_id("inner"):
            assert current_request_id() == "inner"
        assert current_request_id() == "outer"
    assert current_request_id() is None
