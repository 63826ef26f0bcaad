"""HTTP routes of the expander."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from dmcommon.errors import BadRequest
from expander.models import ExpansionRequest, Limits
from expander.sandbox import shared_sandbox

bp = Blueprint("expander", __name__)


@bp.get("/healthz")
def healthz():
    return "ok"


@bp.post("/expand")
def expand():
    """Expand a configuration: `{"template", "env"}` -> `{"config", "layout"}`."""
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise BadRequest("request body must be JSON: {\"template\": {...}, \"env\": {...}}")
    expansion_request = ExpansionRequest.from_dict(body)
    limits = Limits.from_config(current_app.config)
    return jsonify(shared_sandbox().expand(expansion_request, limits))
