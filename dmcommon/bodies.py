"""Reading request bodies the same way in every service."""

from __future__ import annotations

from typing import Any

from flask import request

from dmcommon.errors import BadRequest

TOO_DEEP = "the request body is nested too deeply"


def json_body(not_json: str) -> Any:
    """The current request's body decoded as JSON; `BadRequest(not_json)` when it is not.

    The JSON decoder gives up on very deep nesting with a RecursionError that Flask's
    `silent` does not cover; that is bad input too, not a server fault.
    """
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:
        raise BadRequest(TOO_DEEP) from None
    if body is None:
        raise BadRequest(not_json)
    return body
