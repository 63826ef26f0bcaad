"""HTTP routes of the resourcifier: the backend contract."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from dmcommon.bodies import json_body
from resourcifier.dispatch import Resourcifier
from resourcifier.wire import parse_dry_run

bp = Blueprint("resourcifier", __name__)


def _service() -> Resourcifier:
    return current_app.extensions["resourcifier"]


def _body():
    return json_body("the request body is not JSON: send {\"resources\": [...]}")


@bp.get("/healthz")
def healthz():
    return Response("ok", mimetype="text/plain")


@bp.get("/readyz")
def readyz():
    _service().check()
    return Response("ok", mimetype="text/plain")


@bp.post("/configurations")
@bp.put("/configurations")
def apply_configuration():
    dry_run = parse_dry_run(request.args.get("dryRun"))
    return jsonify(_service().apply(_body(), dry_run).to_dict()), 201


@bp.delete("/configurations")
def delete_configuration():
    dry_run = parse_dry_run(request.args.get("dryRun"))
    return jsonify(_service().delete(_body(), dry_run).to_dict()), 200


@bp.get("/configurations/<type_>")
def list_objects(type_: str):
    return jsonify(_service().list(type_, request.args.get("namespace")))


@bp.get("/configurations/<type_>/<name>")
def get_object(type_: str, name: str):
    return jsonify(_service().get(type_, name, request.args.get("namespace")))
