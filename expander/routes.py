"""HTTP routes of the expander."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("expander", __name__)


@bp.get("/healthz")
def healthz():
    return "ok"
