"""Drift: whether the live objects still hold what DM applied.

For each resource the last rollout applied, the live object's fields that DM applies
are compared with the manifest: `InSync`, `Modified` (with the diff) or `Missing`. The
deployment records `sync` (`InSync` / `OutOfSync`, `Unknown` when the backend reports
no live objects) and `health` (the least healthy resource's; a missing object is
`Missing`) from the last check, which the API, the CLI and the UI show.
"""

from __future__ import annotations

from typing import Any

from manager.models import CREATED, UNCHANGED, Health, utc_now
from manager.workflow.action import worst
from manager.workflow.compare import applied_part, covers, unified_diff
from manager.workflow.services import Services

IN_SYNC = "InSync"
OUT_OF_SYNC = "OutOfSync"
UNKNOWN = "Unknown"


def check_drift(services: Services, name: str) -> dict[str, Any]:
    """Read the deployment's live objects now; record and answer the Drift report."""
    repository = services.repository
    deployment = repository.get_deployment(name)
    manifest = repository.get_manifest(name, deployment.latest_manifest or "")
    applied = [item for item in manifest.resources if item.status in (CREATED, UNCHANGED)]
    answers = (
        services.resourcifier.status([item.to_wire() for item in applied], manifest.namespace)
        if applied
        else []
    )
    resources = []
    healths = []
    for index, item in enumerate(applied):
        if answers is None:
            resources.append({"resource": item.name, "status": UNKNOWN, "diff": ""})
            continue
        live = answers[index].get("live")
        health = Health.from_dict(answers[index].get("health"))
        if not isinstance(live, dict):
            status, diff = "Missing", ""
            health = Health("Missing", f"{item.name}: not found")
        elif covers(live, item.properties):
            status, diff = IN_SYNC, ""
        else:
            status = "Modified"
            diff = unified_diff(applied_part(live, item.properties), item.properties, item.name)
        if health is not None:
            healths.append(health)
        resources.append(
            {
                "resource": item.name,
                "status": status,
                "diff": diff,
                "health": health.to_dict() if health else None,
            }
        )
    if answers is None:
        sync = UNKNOWN
    else:
        sync = IN_SYNC if all(r["status"] == IN_SYNC for r in resources) else OUT_OF_SYNC
    repository.record_sync(name, sync, worst(healths) if answers is not None else None)
    return {
        "deployment": name,
        "manifest": manifest.name,
        "checkedAt": utc_now(),
        "sync": sync,
        "resources": resources,
    }
