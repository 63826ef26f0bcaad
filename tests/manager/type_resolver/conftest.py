"""A template web server on a free loopback port, with knobs for misbehaving."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Site:
    """What the server serves: files, redirects, delays; and the paths it was asked for."""

    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    # Paths whose body is sent a byte at a time, this many seconds apart.
    trickles: dict[str, float] = field(default_factory=dict)
    # Paths answered without Content-Length, so only the body's length tells the size.
    undeclared: set[str] = field(default_factory=set)
    requested: list[str] = field(default_factory=list)
    # The Host header of each request, in order.
    hosts: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def add(self, path: str, text: str) -> str:
        self.files[path] = text.encode()
        return self.url + path


def _handler(site: Site):
    class Handler(BaseHTTPRequestHandler):
        def handle(self):
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first, as the timeout tests intend

        def do_GET(self):  # noqa: N802 - the name http.server calls
            site.requested.append(self.path)
            site.hosts.append(self.headers.get("Host", ""))
            time.sleep(site.delays.get(self.path, 0))
            if self.path in site.redirects:
                self.send_response(302)
                self.send_header("Location", site.redirects[self.path])
                self.end_headers()
                return
            body = site.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            if self.path not in site.undeclared:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            pause = site.trickles.get(self.path)
            if pause is None:
                self.wfile.write(body)
                return
            for index in range(len(body)):
                self.wfile.write(body[index : index + 1])
                self.wfile.flush()
                time.sleep(pause)

        def log_message(self, *args):
            pass

    return Handler


def _serve(address: str):
    content = Site()
    server = ThreadingHTTPServer((address, 0), _handler(content))
    server.daemon_threads = True
    content.url = f"http://{address}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield content
    server.shutdown()
    server.server_close()


@pytest.fixture
def site():
    """The template server, on 127.0.0.1."""
    yield from _serve("127.0.0.1")


@pytest.fixture
def public_site():
    """A template server on 127.0.0.2, which the SSRF tests treat as a public address."""
    yield from _serve("127.0.0.2")


@pytest.fixture
def target():
    """An internal server on 127.0.0.1 that no refused URL may reach."""
    yield from _serve("127.0.0.1")
