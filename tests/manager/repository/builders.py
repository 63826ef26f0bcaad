"""Small constructors of the models the repository stores."""

from __future__ import annotations

from manager.models import (
    DEPLOYED,
    Deployment,
    Manifest,
    State,
    Template,
    TypeInstance,
    utc_now,
)
from manager.repository import new_manifest_name


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


def manifest(deployment_name: str = "web", content: str = "resources: []") -> Manifest:
    return Manifest(
        deployment=deployment_name,
        name=new_manifest_name(),
        created_at=utc_now(),
        input_config=Template(name=deployment_name, content=content),
        expanded_config={
            "resources": [{"name": "cm", "type": "ConfigMap", "properties": {"data": {"a": "1"}}}]
        },
        layout={"resources": [{"name": "cm", "type": "ConfigMap"}]},
    )


def instance(type_name: str, name: str, deployment_name: str = "web", index: int = 0):
    return TypeInstance(
        name=name,
        type=type_name,
        deployment=deployment_name,
        manifest="manifest-1",
        path=f"$.resources[{index}]",
    )
