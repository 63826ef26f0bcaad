"""The downstream clients against a real local HTTP server: timeouts and error mapping."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dmcommon.errors import BadGateway, BadRequest, GatewayTimeout, ServiceUnavailable
from dmcommon.request_ids import bound_request_id
from manager.clients import ExpanderClient, ResourcifierClient, fixed_url
from tests.support import free_port


class Scripted(BaseHTTPRequestHandler):
    """Answers every request with the server's `answer`: (status, body, delay)."""

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.requests.append(
            (self.command, self.path, self.headers.get("Authorization"), self.rfile.read(length))
        )
        self.server.request_ids.append(self.headers.get("X-Request-ID"))
        status, body, delay = self.server.answer
        time.sleep(delay)
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = _reply

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    httpd.requests = []
    httpd.request_ids = []
    httpd.answer = (200, {}, 0)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    yield httpd
    httpd.shutdown()


def test_expand_sends_the_template_env_and_internal_token(server):
    server.answer = (200, {"config": {"resources": []}, "layout": {"resources": []}}, 0)
    client = ExpanderClient(fixed_url(server.url), timeout=5, token="inside")
    assert client.expand({"name": "a"}, {"deployment": "a"})["config"] == {"resources": []}
    method, path, auth, body = server.requests[0]
    assert (method, path, auth) == ("POST", "/expand", "Bearer inside")
    assert json.loads(body) == {"template": {"name": "a"}, "env": {"deployment": "a"}}


def test_calls_carry_the_id_of_the_request_being_served(server):
    server.answer = (200, {"config": {"resources": []}, "layout": {"resources": []}}, 0)
    client = ExpanderClient(fixed_url(server.url), timeout=5)
    with bound_request_id("req-5"):
        client.expand({"name": "a"}, {})
    client.expand({"name": "a"}, {})
    assert server.request_ids == ["req-5", None]


def test_a_400_carries_the_service_message(server):
    server.answer = (400, {"status": 400, "message": "config: line 3: bad"}, 0)
    with pytest.raises(BadRequest, match="^config: line 3: bad$"):
        ExpanderClient(fixed_url(server.url), timeout=5).expand({}, {})


def test_a_server_error_is_a_bad_gateway(server):
    server.answer = (500, {"status": 500, "message": "internal error"}, 0)
    with pytest.raises(BadGateway) as error:
        ExpanderClient(fixed_url(server.url), timeout=5).expand({}, {})
    assert error.value.message == "the expander failed the expansion (HTTP 500): internal error"


def test_an_answer_that_is_not_json_is_a_bad_gateway(server):
    server.answer = (200, "<html>", 0)
    with pytest.raises(BadGateway, match="invalid JSON"):
        ExpanderClient(fixed_url(server.url), timeout=5).expand({}, {})


def test_a_slow_service_is_a_gateway_timeout(server):
    server.answer = (200, {}, 1.5)
    with pytest.raises(GatewayTimeout) as error:
        ExpanderClient(fixed_url(server.url), timeout=0.3).expand({}, {})
    assert (
        error.value.message == f"the expander at {server.url} did not answer POST /expand in time"
    )
    assert len(server.requests) == 1


def test_a_refused_connection_is_a_bad_gateway():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BadGateway) as error:
        ResourcifierClient(fixed_url(url), timeout=5).apply([{"name": "a"}], "default")
    assert error.value.message == f"cannot reach the resourcifier at {url}: connection refused"


def test_an_unknown_address_is_service_unavailable():
    def nowhere() -> str:
        raise ServiceUnavailable('cannot find the service "resourcifier-service"')

    with pytest.raises(
        ServiceUnavailable, match='^cannot find the service "resourcifier-service"$'
    ):
        ResourcifierClient(nowhere, timeout=5).check()


def test_reading_a_missing_object_answers_none(server):
    server.answer = (404, {"status": 404, "message": "not found"}, 0)
    client = ResourcifierClient(fixed_url(server.url), timeout=5)
    assert client.get("Service", "web", "shop") is None
    assert server.requests[0][1] == "/configurations/Service/web?namespace=shop"


def test_an_answer_that_drops_resources_is_a_bad_gateway(server):
    server.answer = (201, {"resources": []}, 0)
    with pytest.raises(BadGateway, match="does not list every resource"):
        ResourcifierClient(fixed_url(server.url), timeout=5).apply([{"name": "a"}], "default")
