"""HTTP routes of the resourcifier: the backend contract."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from dmcommon.bodies import json_body
from dmcommon.errors import BadRequest
from resourcifier.dispatch import Resourcifier
from resourcifier.wire import parse_flag

bp = Blueprint("resourcifier", __name__)


def _service() -> Resourcifier:
    return current_app.extensions["resourcifier"]


def _flag(name: str) -> bool:
    return parse_flag(name, request.args.get(name))


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
    dry_run = _flag("dryRun")
    if _flag("diff"):
        if not dry_run:
            raise BadRequest("diff=true needs dryRun=true: a diff previews, it never applies")
        return jsonify(_service().preview(_body()).to_dict()), 200
    return jsonify(_service().apply(_body(), dry_run).to_dict()), 201


@bp.delete("/configurations")
def delete_configuration():
    return jsonify(_service().delete(_body(), _flag("dryRun")).to_dict()), 200


@bp.post("/configurations/status")
def configuration_status():
    return jsonify(_service().status(_body()).to_dict()), 200


@bp.get("/configurations/<type_>")
def list_objects(type_: str):
    return jsonify(_service().list(type_, request.args.get("namespace")))


@bp.get("/configurations/<type_>/<name>")
def get_object(type_: str, name: str):
    return jsonify(_service().get(type_, name, request.args.get("namespace")))
