"""HTTP routes of the resourcifier: the backend contract."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("resourcifier", __name__)


@bp.get("/healthz")
def healthz():
    return "ok"
