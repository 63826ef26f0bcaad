"""Reading request bodies the same way in every service."""

from __future__ import annotations

from typing import Any

from flask import request

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
