"""Every answer of every service under gunicorn is the documented JSON shape, including the
ones a server layer writes (413 for chunked bodies, 414, 431, 405 with `Allow`)."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from dmcommon.server import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_LINE
from tests.support import start_manager

SERVICES = ["expander_url", "resourcifier_url", "manager_url"]
BODY_ROUTE = {"expander_url": "/expand", "resourcifier_url": "/configurations",
              "manager_url": "/deployments"}

# What each service says of a body that is JSON (`[]`) but not the expected object.
SHAPE_ERROR = {
    "expander_url": "request body must be a JSON object with template and env",
    "resourcifier_url": 'the body must be a JSON object {"resources": [...]}',
    "manager_url": (
        "the body must be a Template object {name, content, imports, namespace, options}"
    ),
}


@pytest.fixture(scope="module")
def manager_url(tmp_path_factory, expander_url, resourcifier_url) -> str:
    workdir = tmp_path_factory.mktemp("manager")
    process, url = start_manager(workdir, expander_url, resourcifier_url)
    yield url
    process.stop()


def exchange(url: str, request: bytes, body_parts=()) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes; return the answer's status, headers (lower-case names) and body."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before reading everything, as it may
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines[1:])
    )
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize("service", SERVICES)
def test_a_chunked_body_over_the_limit_is_a_json_413(request, service):
    url = request.getfixturevalue(service)
    mebibyte = b"x" * (1024 * 1024)
    chunks = [b"%x\r\n%s\r\n" % (len(mebibyte), mebibyte)] * 11 + [b"0\r\n\r\n"]
    head = (
        f"POST {BODY_ROUTE[service]} HTTP/1.1\r\nHost: dm\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()

    status, headers, body = exchange(url, head, chunks)

    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "status": 413, "message": "request body is larger than the limit of 10485760 bytes"
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_chunked_body_within_the_limit_is_read_whole(request, service):
    url = request.getfixturevalue(service)
    head = (
        f"POST {BODY_ROUTE[service]} HTTP/1.1\r\nHost: dm\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    status, _, body = exchange(url, head, [b"1\r\n[\r\n", b"1\r\n]\r\n", b"0\r\n\r\n"])
    assert status == 400
    assert json.loads(body)["message"] == SHAPE_ERROR[service]


@pytest.mark.parametrize("service", SERVICES)
def test_a_request_line_over_the_limit_is_a_json_414(request, service):
    url = request.getfixturevalue(service)
    path = "/" + "a" * LIMIT_REQUEST_LINE
    status, headers, body = exchange(
        url, f"GET {path} HTTP/1.1\r\nHost: dm\r\nConnection: close\r\n\r\n".encode()
    )
    assert (status, headers["content-type"]) == (414, "application/json")
    assert json.loads(body) == {"status": 414, "message": "the request line is too long"}


@pytest.mark.parametrize("service", SERVICES)
def test_a_header_over_the_limit_is_a_json_431(request, service):
    url = request.getfixturevalue(service)
    value = "a" * LIMIT_REQUEST_FIELD_SIZE
    status, headers, body = exchange(
        url, f"GET /healthz HTTP/1.1\r\nHost: dm\r\nX-Big: {value}\r\n\r\n".encode()
    )
    assert (status, headers["content-type"]) == (431, "application/json")
    assert json.loads(body) == {
        "status": 431, "message": "the request headers are too large or too many"
    }


@pytest.mark.parametrize("service", SERVICES)
def test_a_method_a_route_lacks_is_a_json_405_with_allow(request, service):
    url = request.getfixturevalue(service)
    response = requests.patch(url + "/healthz", timeout=10)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {
        "status": 405, "message": "The method is not allowed for the requested URL."
    }


@pytest.mark.parametrize("service", SERVICES)
def test_healthz_is_plain_text(request, service):
    url = request.getfixturevalue(service)
    response = requests.get(url + "/healthz", timeout=10)
    assert (response.text, response.headers["Content-Type"]) == ("ok", "text/plain; charset=utf-8")


def test_a_deeply_nested_configuration_is_a_400(manager_url):
    body = {"name": "deep", "content": "resources: " + "[" * 500 + "]" * 500}
    response = requests.post(manager_url + "/expand", json=body, timeout=30)
    assert response.status_code == 400
    assert "nested more than 100 levels deep" in response.json()["message"]
