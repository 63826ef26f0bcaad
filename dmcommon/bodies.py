"""Reading request bodies the same way in every service, under one size limit."""

from __future__ import annotations

import io
import json
from typing import Any, Callable, Iterable

from flask import Flask, request

from dmcommon.documents import TooDeep, load_json
from dmcommon.errors import BadRequest

TOO_DEEP = "the request body is nested too deeply"


def json_body(not_json: str) -> Any:
    """The current request's body decoded as JSON; `BadRequest(not_json)` when it is not,
    `BadRequest(TOO_DEEP)` when it nests deeper than dmcommon.documents allows."""
    raw = request.get_data(cache=True)
    try:
        return load_json(raw)
    except TooDeep:
        raise BadRequest(TOO_DEEP) from None
    except ValueError:
        raise BadRequest(not_json) from None


def limit_request_bodies(app: Flask) -> None:
    """Answer 413 to a body over `MAX_CONTENT_LENGTH`, whether it declares its length or not.

    Werkzeug refuses a declared length over the limit, but cuts a chunked body short at
    the limit without a word, which then reads as broken JSON. Here a body without a
    declared length is read (up to one byte past the limit) before the app sees it and
    handed on with its length declared.
    """
    inner = app.wsgi_app

    def wsgi_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and not environ.get("CONTENT_LENGTH") and _has_body(environ):
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return _too_large(limit, start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return inner(environ, start_response)

    app.wsgi_app = wsgi_app


def too_large_message(limit: int) -> str:
    return f"request body is larger than the limit of {limit} bytes"


def _has_body(environ: dict) -> bool:
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding or bool(environ.get("wsgi.input_terminated"))


def _too_large(limit: int, start_response: Callable) -> Iterable[bytes]:
    body = json.dumps({"status": 413, "message": too_large_message(limit)}).encode()
    start_response(
        "413 Request Entity Too Large",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
         ("Connection", "close")],
    )
    return [body]
