"""The web UI's routes: the static files of manager/ui/ under `/ui/` (docs/ui.md).

The files are public, like any page that asks for a password: the page asks for the
API token itself and sends it with every API call.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, redirect, send_from_directory

UI_FOLDER = Path(__file__).resolve().parent / "ui"

bp = Blueprint("ui", __name__)


@bp.get("/ui")
def ui_root():
    return redirect("/ui/", code=301)


@bp.get("/ui/")
@bp.get("/ui/<path:filename>")
def ui_file(filename: str = "index.html"):
    response = send_from_directory(UI_FOLDER, filename)
    # The page changes with the manager it comes with: always check for a newer one.
    response.headers["Cache-Control"] = "no-cache"
    return response
