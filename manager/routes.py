"""HTTP routes of the manager: the public API (docs/api.md). Handlers parse, call an
action, and render; the actions hold the workflow."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from dmcommon.auth import token_matches
from dmcommon.errors import BadRequest, DMError
from dmcommon.settings import parse_bool
from dmcommon.web import error_response
from manager.actions import Delete, Deploy, Expand, Rollback, Services, Update
from manager.template_input import parse_body, template_from_body

bp = Blueprint("manager", __name__)


def _services() -> Services:
    return current_app.extensions["dm"]


def _template(name: str | None = None):
    return template_from_body(parse_body(request.get_data(), request.content_type), name)


def _if_match() -> str | None:
    """The fingerprint of `If-Match`, without ETag quoting; None for absent or `*`."""
    value = request.headers.get("If-Match", "").strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    return None if value in ("", "*") else value


@bp.get("/healthz")
def healthz():
    return "ok"


@bp.get("/readyz")
def readyz():
    """Ready when the repository and both downstream services answer.

    With an API token set, only an authorized caller learns which part is not ready.
    """
    services = _services()
    problems = []
    for part, check in (
        ("repository", services.repository.check),
        ("expander", services.expander.check),
        ("resourcifier", services.resourcifier.check),
    ):
        try:
            check()
        except DMError as error:
            problems.append(f"{part}: {error.message}")
    if not problems:
        return "ready"
    if not _authorized():
        return error_response(503, "not ready")
    return error_response(503, "not ready: " + "; ".join(problems))


def _authorized() -> bool:
    token = current_app.config["API_TOKEN"]
    return not token or token_matches(request.headers.get("Authorization", ""), token)


@bp.get("/deployments")
def list_deployments():
    repository = _services().repository
    view = request.args.get("view", "names")
    if view == "full":
        return jsonify([item.to_dict() for item in repository.list_deployments()])
    if view != "names":
        raise BadRequest(f"unknown view {view!r}: use view=full or leave it out")
    return jsonify(repository.list_deployment_names())


@bp.post("/deployments")
def create_deployment():
    deployment = Deploy(_services()).run(_template())
    return jsonify(deployment.to_dict()), 201


@bp.get("/deployments/<name>")
def get_deployment(name: str):
    return jsonify(_services().repository.get_deployment(name).to_dict())


@bp.put("/deployments/<name>")
def update_deployment(name: str):
    return jsonify(Update(_services()).run(_template(name), _if_match()).to_dict())


@bp.delete("/deployments/<name>")
def delete_deployment(name: str):
    try:
        keep = parse_bool(request.args.get("keepResources", "false"))
    except ValueError:
        raise BadRequest("keepResources must be true or false") from None
    return jsonify(Delete(_services()).run(name, _if_match(), keep).to_dict())


@bp.post("/deployments/<name>/rollback")
def rollback_deployment(name: str):
    body = parse_body(request.get_data(), request.content_type)
    manifest = body.get("manifest") if isinstance(body, dict) else None
    if not isinstance(manifest, str) or not manifest:
        raise BadRequest('the body must be {"manifest": "<manifest name>"}')
    return jsonify(Rollback(_services()).run(name, manifest, _if_match()).to_dict())


@bp.get("/deployments/<name>/manifests")
def list_manifests(name: str):
    return jsonify(_services().repository.list_manifest_names(name))


@bp.get("/deployments/<name>/manifests/<manifest>")
def get_manifest(name: str, manifest: str):
    return jsonify(_services().repository.get_manifest(name, manifest).to_dict())


@bp.post("/expand")
def expand():
    return jsonify(Expand(_services()).run(_template()))


@bp.get("/types")
def list_types():
    return jsonify(_services().repository.list_types())


@bp.get("/types/<path:type_name>/instances")
def list_type_instances(type_name: str):
    instances = _services().repository.list_type_instances(type_name)
    return jsonify([item.to_dict() for item in instances])
