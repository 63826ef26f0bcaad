"""A small HTTP/1.0 client over a socket: what the CLI needs of HTTP and no more.

`http.client` takes several times the import time of `socket` (it loads the email
package to parse headers), and `dm list` should start about as fast as `helm version`.
So the CLI speaks HTTP/1.0 itself: one request per connection, the answer's body read
to its Content-Length or to the end of the connection. That also streams Server-Sent
Events, since an HTTP/1.0 answer is never chunked. HTTPS goes through `ssl`, imported
only for an https URL.
"""

from __future__ import annotations

import socket

MAX_LINE = 65536
MAX_HEADERS = 100


class NotHttp(Exception):
    """What answered does not speak HTTP."""


class Response:
    """An answer whose status line and headers are read; the body is read on demand."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._file = sock.makefile("rb")
        self.status, self.headers = _read_head(self._file)

    def read(self) -> bytes:
        """The whole body: Content-Length bytes, else up to the end of the connection."""
        length = self.headers.get("content-length", "")
        return self._file.read(int(length)) if length.isdigit() else self._file.read()

    def readline(self) -> bytes:
        """The body's next line (with its line end); empty at the end."""
        return self._file.readline(MAX_LINE)

    def close(self) -> None:
        self._file.close()
        self._sock.close()


def send(
    host: str,
    port: int,
    secure: bool,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
) -> Response:
    """Send one request and read the answer's head; the caller closes the Response.

    Raises OSError (TimeoutError included) for network trouble, NotHttp for a peer that
    does not answer HTTP.
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        if secure:
            import ssl

            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        name = f"[{host}]" if ":" in host else host
        lines = [f"{method} {target} HTTP/1.0", f"Host: {name}:{port}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        return Response(sock)
    except BaseException:
        sock.close()
        raise


def _read_head(file) -> tuple[int, dict[str, str]]:
    status_line = file.readline(MAX_LINE).decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise NotHttp(f"not an HTTP status line: {status_line.strip()[:80]!r}")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS):
        line = file.readline(MAX_LINE).decode("latin-1").rstrip("\r\n")
        if not line:
            return int(code), headers
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    raise NotHttp(f"more than {MAX_HEADERS} header lines")
