"""HTTP routes of the manager: the public API."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("manager", __name__)


@bp.get("/healthz")
def healthz():
    return "ok"
