"""Small constructors of the models the repository stores, and of stored states."""

from __future__ import annotations

import uuid

from manager.models import (
    CREATE,
    DEPLOYED,
    RUNNING,
    SUCCEEDED,
    Deployment,
    Manifest,
    ManifestResource,
    Operation,
    State,
    Template,
    TypeInstance,
    utc_now,
)
from manager.repository import Repository, new_manifest_name


def deployment(name: str = "web", status: str = DEPLOYED, errors=()) -> Deployment:
    return Deployment(
        name=name,
        namespace="apps",
        created_at=utc_now(),
        state=State(status=status, errors=list(errors)),
        deployed_at=utc_now(),
        modified_at=utc_now(),
        latest_manifest=None,
    )


def manifest(
    deployment_name: str = "web", revision: int = 1, content: str = "resources: []"
) -> Manifest:
    return Manifest(
        deployment=deployment_name,
        name=new_manifest_name(),
        created_at=utc_now(),
        input_config=Template(name=deployment_name, content=content),
        resources=[ManifestResource("cm", "ConfigMap", {"data": {"a": "1"}})],
        layout={"resources": [{"name": "cm", "type": "ConfigMap"}]},
        revision=revision,
        namespace="apps",
    )


def operation(
    deployment_name: str = "web",
    type_: str = CREATE,
    status: str = RUNNING,
    manifest_name: str | None = None,
) -> Operation:
    return Operation(
        id=uuid.uuid4().hex,
        deployment=deployment_name,
        type=type_,
        status=status,
        created_at=utc_now(),
        manifest=manifest_name,
        deadline=4102444800.0,
    )


def instance(type_name: str, name: str, deployment_name: str = "web", index: int = 0):
    return TypeInstance(
        name=name,
        type=type_name,
        deployment=deployment_name,
        manifest="manifest-1",
        path=f"$.resources[{index}]",
    )


def end(repo: Repository, started: Operation, status: str = SUCCEEDED) -> Operation:
    """Record that `started` ended with `status`."""
    started.status = status
    started.ended_at = utc_now()
    repo.save_operation(started)
    return started


def created(repo: Repository, name: str = "web", first: Manifest | None = None) -> Deployment:
    """Store deployment `name` (with `first` as its manifest) by a create that succeeded."""
    creating = operation(name, manifest_name=first.name if first else None)
    stored = repo.start_operation(creating, deployment(name), first, create=True)
    end(repo, creating)
    return stored
