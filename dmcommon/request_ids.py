"""Request ids: the `X-Request-ID` each request carries through every service it reaches.

The id of the request being served lives in a context variable, so log lines (see
logs.py) and calls to other services (the manager's clients) find it without it being
passed along. A service takes the id its caller sent, or makes one when there is none
or it is unfit for a log line, and answers it back.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from contextvars import ContextVar
from typing import Iterator

HEADER = "X-Request-ID"

# Ids end up in log lines and other services' headers: short, printable, no spaces.
_FIT = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request this code serves, None outside of one."""
    return _current.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def fit_request_id(sent: str | None) -> str:
    """The id a caller sent when it is fit to log and pass on, else a new one."""
    return sent if sent and _FIT.fullmatch(sent) else new_request_id()


@contextlib.contextmanager
def bound_request_id(request_id: str | None) -> Iterator[None]:
    """Serve the code inside with `request_id` as the current id."""
    token = _current.set(request_id)
    try:
        yield
    finally:
        _current.reset(token)


class RequestIds:
    """WSGI middleware: each request runs with its id bound, and the answer carries it."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        request_id = fit_request_id(environ.get("HTTP_X_REQUEST_ID"))

        def start(status, headers, exc_info=None):
            headers.append((HEADER, request_id))
            return start_response(status, headers, exc_info)

        with bound_request_id(request_id):
            return self.wsgi_app(environ, start)
