"""Mapping between the models and the rows of the repository's tables.

JSON documents (errors, steps, options, expanded configs) are stored as text; see
schema.py.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Row

from manager.models import (
    Deployment,
    Health,
    Manifest,
    ManifestResource,
    Operation,
    Options,
    State,
    Step,
    Template,
    TypeInstance,
)


def deployment_values(deployment: Deployment) -> dict[str, Any]:
    """The columns of a deployment row, all but its name (the key)."""
    return {
        "namespace": deployment.namespace,
        "created_at": deployment.created_at,
        "deployed_at": deployment.deployed_at,
        "modified_at": deployment.modified_at,
        "status": deployment.state.status,
        "errors": json.dumps(deployment.state.errors),
        "latest_manifest": deployment.latest_manifest,
        "fingerprint": deployment.fingerprint,
        "revision": deployment.revision,
        "operation": deployment.operation,
        "health": json.dumps(deployment.health.to_dict()) if deployment.health else None,
        "sync": deployment.sync,
    }


def deployment_from_row(row: Row) -> Deployment:
    return Deployment(
        name=row.name,
        namespace=row.namespace,
        created_at=row.created_at,
        deployed_at=row.deployed_at,
        modified_at=row.modified_at,
        state=State(status=row.status, errors=json.loads(row.errors)),
        latest_manifest=row.latest_manifest,
        fingerprint=row.fingerprint,
        revision=row.revision,
        operation=row.operation,
        health=Health.from_dict(json.loads(row.health)) if row.health else None,
        sync=row.sync,
    )


def manifest_values(manifest: Manifest) -> dict[str, Any]:
    """The columns of a manifest row, all but its key (deployment, name)."""
    return {
        "created_at": manifest.created_at,
        "revision": manifest.revision,
        "input_config": json.dumps(manifest.input_config.to_dict()),
        "expanded_config": expanded_config_value(manifest),
        "layout": json.dumps(manifest.layout),
        "warnings": json.dumps(manifest.warnings),
        "operation": manifest.operation,
    }


def expanded_config_value(manifest: Manifest) -> str:
    """The manifest's resources with their states, and the workflow's bookkeeping: the
    one column that changes once a manifest is stored."""
    return json.dumps(manifest.expanded_record())


def manifest_from_row(row: Row) -> Manifest:
    expanded = json.loads(row.expanded_config)
    return Manifest(
        deployment=row.deployment,
        name=row.name,
        created_at=row.created_at,
        input_config=Template.from_dict(json.loads(row.input_config)),
        resources=[ManifestResource.from_dict(item) for item in expanded.get("resources", [])],
        layout=json.loads(row.layout),
        revision=row.revision,
        warnings=json.loads(row.warnings),
        namespace=expanded.get("namespace") or "",
        levels=expanded.get("levels") or [],
        settled=bool(expanded.get("settled")),
        operation=row.operation,
    )


def manifest_summary(row: Row) -> dict[str, Any]:
    """A manifest's entry in a deployment's list, with the status of its operation."""
    return {
        "name": row.manifest,
        "revision": row.revision,
        "createdAt": row.created_at,
        "operation": row.operation,
        "status": row.status,
    }


def operation_values(operation: Operation) -> dict[str, Any]:
    return {
        "id": operation.id,
        "deployment": operation.deployment,
        "type": operation.type,
        "status": operation.status,
        "manifest": operation.manifest,
        "created_at": operation.created_at,
        "started_at": operation.started_at,
        "ended_at": operation.ended_at,
        "errors": json.dumps(operation.errors),
        # What json.dumps makes of the list, without encoding each step again.
        "steps": "[" + ", ".join(step.json_text for step in operation.steps) + "]",
        "options": json.dumps(operation.options.to_dict()),
        "params": json.dumps(operation.params),
        "owner": operation.owner,
        "heartbeat": operation.heartbeat,
        "deadline": operation.deadline,
        "cancel_requested": operation.cancel_requested,
    }


def operation_from_row(row: Row) -> Operation:
    return Operation(
        id=row.id,
        deployment=row.deployment,
        type=row.type,
        status=row.status,
        manifest=row.manifest,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        errors=json.loads(row.errors),
        steps=[Step.from_dict(item) for item in json.loads(row.steps)],
        options=Options.from_dict(json.loads(row.options)),
        params=json.loads(row.params),
        owner=row.owner,
        heartbeat=row.heartbeat,
        deadline=row.deadline,
        cancel_requested=bool(row.cancel_requested),
    )


def event_values(operation_id: str, seq: int, event: dict[str, Any]) -> dict[str, Any]:
    return {"operation": operation_id, "seq": seq, "data": json.dumps(event)}


def type_instance_values(deployment: str, instance: TypeInstance) -> dict[str, Any]:
    """The columns of a type instance row recorded for `deployment`."""
    return {
        "deployment": deployment,
        "type": instance.type,
        "name": instance.name,
        "manifest": instance.manifest,
        "path": instance.path,
    }


def type_instance_from_row(row: Row) -> TypeInstance:
    return TypeInstance(
        name=row.name,
        type=row.type,
        deployment=row.deployment,
        manifest=row.manifest,
        path=row.path,
    )
