"""Bearer-token checks for the public API and for calls between the services."""

from __future__ import annotations

import hmac
from typing import Iterable

from flask import Flask, request

from dmcommon.errors import Forbidden, Unauthorized


def require_bearer_token(app: Flask, token: str | None, exempt: Iterable[str] = ("/healthz",)):
    """When `token` is set, every request outside `exempt` must send `Authorization: Bearer`.

    A missing header answers 401; a wrong token answers 403.
    """
    if not token:
        return
    open_paths = frozenset(exempt)

    @app.before_request
    def _check_token():
        if request.path in open_paths:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, sent = header.partition(" ")
        if scheme.lower() != "bearer" or not sent.strip():
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(sent.strip().encode(), token.encode()):
            raise Forbidden("invalid bearer token")
        return None
