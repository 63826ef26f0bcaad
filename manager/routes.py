"""HTTP routes of the manager: the public API (docs/api.md). Handlers parse, call an
action, and render; the workflow holds the logic.

A change answers 202 with its Operation and `Location: /operations/{id}`; the work
runs in the background (manager/workflow/runner.py). `?wait=true` keeps a synchronous
answer for scripts: the request then waits, up to the operation's deadline, and answers
the Deployment as it is at the end.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, current_app, jsonify, request

from dmcommon.auth import token_matches
from dmcommon.errors import BadRequest, DMError, GatewayTimeout
from dmcommon.settings import parse_bool
from dmcommon.web import error_response
from manager.models import DELETED, Deployment, Operation, Options, State
from manager.redaction import expansion_answer, manifest_answer
from manager.template_input import options_from, parse_body, template_from_body
from manager.workflow import (
    ApplyPreview,
    Create,
    Delete,
    Expand,
    Rollback,
    Services,
    Sync,
    Update,
    check_drift,
)

bp = Blueprint("manager", __name__)

# An event stream looks for new events again soon after the last ones (an operation's
# events come in bursts, its end shortly after its last step), then less and less often:
# the pause grows by a quarter each time, to its longest after about a second.
EVENTS_POLL_FIRST_SECONDS = 0.02
EVENTS_POLL_GROWTH = 1.25
EVENTS_POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0


def _services() -> Services:
    return current_app.extensions["dm"]


def _template(name: str | None = None):
    template = template_from_body(parse_body(request.get_data(), request.content_type), name)
    query = _query_options(template.options)
    if query is not None:
        template.options = query
    return template


def _query_options(base: Options | None) -> Options | None:
    """Options given as query parameters (`?timeout=5m&wait=false&atomic=true`) over `base`."""
    given = {key: request.args[key] for key in ("timeout", "wait", "atomic") if key in request.args}
    return options_from(given, "query", base) if given else base


def _flag(name: str) -> bool:
    try:
        return parse_bool(request.args.get(name, "false"))
    except ValueError:
        raise BadRequest(f"{name} must be true or false") from None


def _if_match() -> str | None:
    """The fingerprint of `If-Match`, without ETag quoting; None for absent or `*`."""
    value = request.headers.get("If-Match", "").strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    return None if value in ("", "*") else value


def _accepted(operation: Operation, waited_status: int = 200):
    """202 with the operation, or with `?wait=true` the deployment once it has ended."""
    if not _flag("wait"):
        response = jsonify(operation.to_dict())
        response.status_code = 202
        response.headers["Location"] = f"/operations/{operation.id}"
        return response
    ended = _wait_for(operation)
    repository = _services().repository
    try:
        deployment = repository.get_deployment(ended.deployment)
    except DMError:
        deployment = Deployment(
            name=ended.deployment, namespace="", created_at=ended.created_at, state=State(DELETED)
        )
        deployment.modified_at = ended.ended_at
        deployment.operation = ended.id
    return jsonify(deployment.to_dict()), waited_status


def _wait_for(operation: Operation) -> Operation:
    repository = _services().repository
    pause = 0.05
    while True:
        current = repository.get_operation(operation.id)
        if current.ended:
            return current
        if time.time() > operation.deadline + 30:
            raise GatewayTimeout(
                f"operation {operation.id} has not ended by its deadline; "
                f"follow it at /operations/{operation.id}"
            )
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


@bp.get("/healthz")
def healthz():
    return Response("ok", mimetype="text/plain")


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
        return Response("ready", mimetype="text/plain")
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
    if view not in ("names", "full"):
        raise BadRequest(f"unknown view {view!r}: use view=full or leave it out")
    limit = request.args.get("limit")
    if limit is not None and (not limit.isdigit() or int(limit) < 1):
        raise BadRequest(f"limit must be a positive whole number (got {limit!r})")
    size = int(limit) if limit is not None else None
    after = request.args.get("continue", "")
    if view == "full":
        items = repository.list_deployments(size, after)
        names = [item.name for item in items]
        response = jsonify([item.to_dict() for item in items])
    else:
        names = repository.list_deployment_names(size, after)
        response = jsonify(names)
    if size is not None and len(names) == size:
        response.headers["X-Continue"] = names[-1]
    return response


@bp.post("/deployments")
def create_deployment():
    if _flag("preview"):
        return jsonify(ApplyPreview(_services()).preview(_template(), create=True).to_dict())
    return _accepted(Create(_services()).start(_template()), 201)


@bp.get("/deployments/<name>")
def get_deployment(name: str):
    return jsonify(_services().repository.get_deployment(name).to_dict())


@bp.put("/deployments/<name>")
def update_deployment(name: str):
    if _flag("preview"):
        return jsonify(ApplyPreview(_services()).preview(_template(name), create=False).to_dict())
    return _accepted(Update(_services()).start(_template(name), _if_match()))


@bp.get("/deployments/<name>/preview")
def get_preview(name: str):
    return jsonify(_services().repository.get_preview(name).to_dict())


@bp.delete("/deployments/<name>/preview")
def discard_preview(name: str):
    _services().repository.delete_preview(name)
    return "", 204


@bp.post("/deployments/<name>/preview/apply")
def apply_preview(name: str):
    return _accepted(ApplyPreview(_services()).start(name))


@bp.get("/deployments/<name>/drift")
def get_drift(name: str):
    return jsonify(check_drift(_services(), name))


@bp.delete("/deployments/<name>")
def delete_deployment(name: str):
    keep = _flag("keepResources")
    return _accepted(Delete(_services()).start(name, _if_match(), keep))


@bp.post("/deployments/<name>/rollback")
def rollback_deployment(name: str):
    raw = request.get_data()
    body = parse_body(raw, request.content_type) if raw.strip() else {}
    if not isinstance(body, dict) or set(body) - {"revision", "manifest", "options"}:
        raise BadRequest('the body must be {"revision": N} or {"manifest": "<name>"} (or empty)')
    target = body.get("manifest")
    revision = body.get("revision")
    if revision is not None:
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
            raise BadRequest("'revision' must be a positive whole number")
        target = str(revision)
    elif target is not None and (not isinstance(target, str) or not target):
        raise BadRequest("'manifest' must be a manifest name")
    options = body.get("options")
    options = None if options is None else options_from(options, "options")
    options = _query_options(options)
    return _accepted(Rollback(_services()).start(name, target, _if_match(), options))


@bp.post("/deployments/<name>/sync")
def sync_deployment(name: str):
    return _accepted(Sync(_services()).start(name, _if_match(), _query_options(None)))


@bp.get("/deployments/<name>/manifests")
def list_manifests(name: str):
    return jsonify(_services().repository.list_manifests(name))


@bp.get("/deployments/<name>/manifests/<manifest>")
def get_manifest(name: str, manifest: str):
    return jsonify(manifest_answer(_services().repository.get_manifest(name, manifest)))


@bp.get("/deployments/<name>/operations")
def list_deployment_operations(name: str):
    operations = _services().repository.list_operations(name)
    return jsonify([item.to_dict() for item in operations])


@bp.get("/operations/<operation_id>")
def get_operation(operation_id: str):
    return jsonify(_services().repository.get_operation(operation_id).to_dict())


@bp.post("/operations/<operation_id>/cancel")
def cancel_operation(operation_id: str):
    operation = _services().repository.request_cancel(operation_id)
    return jsonify(operation.to_dict()), 202


@bp.get("/operations/<operation_id>/events")
def operation_events(operation_id: str):
    """The operation's events as Server-Sent Events, replayed after `Last-Event-ID`,
    ending with an `end` event that carries the final Operation."""
    repository = _services().repository
    repository.get_operation(operation_id)
    last = request.headers.get("Last-Event-ID") or request.args.get("lastEventId") or "0"
    if not last.isdigit():
        raise BadRequest(f"Last-Event-ID must be an event number (got {last!r})")

    def stream():
        after = int(last)
        quiet_since = time.monotonic()
        pause = EVENTS_POLL_FIRST_SECONDS
        while True:
            items = repository.events_since(operation_id, after)
            for seq, event in items:
                yield f"id: {seq}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
                after = seq
                if event["type"] == "end":
                    return
            if items:
                quiet_since = time.monotonic()
                pause = EVENTS_POLL_FIRST_SECONDS
                continue
            # An operation that ended without an end event. Reading it whole costs more than
            # looking for events: done only at the slowest pace.
            if (
                pause == EVENTS_POLL_SECONDS
                and repository.get_operation(operation_id).ended
                and not repository.events_since(operation_id, after)
            ):
                ended = repository.get_operation(operation_id)
                data = json.dumps({"type": "end", "operation": ended.to_dict()})
                yield f"event: end\ndata: {data}\n\n"
                return
            if time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                quiet_since = time.monotonic()
                yield ": keep-alive\n\n"
            time.sleep(pause)
            pause = min(pause * EVENTS_POLL_GROWTH, EVENTS_POLL_SECONDS)

    return Response(
        stream(),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@bp.post("/expand")
def expand():
    return jsonify(expansion_answer(Expand(_services()).run_now(_template())))


@bp.get("/types")
def list_types():
    return jsonify(_services().repository.list_types())


@bp.get("/types/<path:type_name>/instances")
def list_type_instances(type_name: str):
    instances = _services().repository.list_type_instances(type_name)
    return jsonify([item.to_dict() for item in instances])
