"""Bearer-token checks for the public API and for calls between the services."""

from __future__ import annotations

import hmac
from typing import Iterable

from flask import Flask, request

from dmcommon.errors import Forbidden, Unauthorized


def bearer_token(header: str) -> str | None:
    """The token an `Authorization` header value carries as `Bearer <token>`, else None."""
    scheme, _, sent = header.partition(" ")
    sent = sent.strip()
    return sent if scheme.lower() == "bearer" and sent else None


def token_matches(header: str, token: str) -> bool:
    """True when the `Authorization` header value carries `token` (compared in constant time)."""
    sent = bearer_token(header)
    return sent is not None and hmac.compare_digest(sent.encode(), token.encode())


def require_bearer_token(
    app: Flask, token: str | None, exempt: Iterable[str] = ("/healthz", "/metrics")
):
    """When `token` is set, every request outside `exempt` (and `/openapi.json`) must send
    `Authorization: Bearer`.

    An `exempt` path ending in `/` also exempts every path under it. A missing header
    answers 401; a wrong token answers 403.
    """
    if not token:
        return
    # The API document is public, like the probes.
    open_paths = frozenset(exempt) | {"/openapi.json"}
    open_folders = tuple(path for path in open_paths if path.endswith("/"))

    @app.before_request
    def _check_token():
        if request.path in open_paths or request.path.startswith(open_folders):
            return None
        header = request.headers.get("Authorization", "")
        if bearer_token(header) is None:
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        if not token_matches(header, token):
            raise Forbidden("invalid bearer token")
        return None
