"""HTTP routes of the expander."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from dmcommon.bodies import json_body
from dmcommon.errors import ServiceUnavailable
from expander.models import ExpansionRequest, Limits

bp = Blueprint("expander", __name__)


@bp.get("/healthz")
def healthz():
    return Response("ok", mimetype="text/plain")


@bp.get("/readyz")
def readyz():
    """Ready when the sandbox starts a confined child that answers."""
    if not current_app.extensions["expander"].ready():
        raise ServiceUnavailable("the template sandbox cannot start a process for expansions")
    return "ok"


@bp.post("/expand")
def expand():
    """Expand a configuration: `{"template", "env"}` -> `{"config", "layout", "warnings"}`."""
    body = json_body("request body must be JSON: {\"template\": {...}, \"env\": {...}}")
    # Checked here so a malformed body is refused before it reaches the sandbox, which
    # then reads the same bytes.
    ExpansionRequest.from_dict(body)
    limits = Limits.from_config(current_app.config)
    answer = current_app.extensions["expander"].expand(request.get_data(), limits)
    return Response(answer, mimetype="application/json")
