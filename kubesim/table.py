"""Answers for `Accept: ...;as=Table`, which `kubectl get` asks for to print its columns.

The columns follow the real API server's for the common kinds, so `kubectl get` reads
as it would against a cluster. Nothing runs here, so readiness columns show what the
stored status says: none of a Deployment's replicas are ever ready.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from .catalog import ResourceType

Cell = Callable[[dict], Any]


def age(timestamp: str | None, now: datetime | None = None) -> str:
    """Short age in kubectl's style: 42s, 5m10s, 3h, 12d."""
    if not timestamp:
        return "<unknown>"
    created = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - created).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


def _ready_of_desired(obj: dict) -> str:
    desired = _spec(obj).get("replicas", 1)
    return f"{_status(obj).get('readyReplicas', 0)}/{desired}"


def _service_ports(obj: dict) -> str:
    ports = []
    for port in _spec(obj).get("ports") or []:
        text = str(port.get("port", ""))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        ports.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(ports) or "<none>"


def _external_ip(obj: dict) -> str:
    ingress = (_status(obj).get("loadBalancer") or {}).get("ingress") or []
    addresses = [item.get("ip") or item.get("hostname") for item in ingress]
    addresses += _spec(obj).get("externalIPs") or []
    if addresses:
        return ",".join(str(address) for address in addresses if address)
    return "<pending>" if _spec(obj).get("type") == "LoadBalancer" else "<none>"


def _pod_ready(obj: dict) -> str:
    containers = _spec(obj).get("containers") or []
    ready = sum(1 for item in _status(obj).get("containerStatuses") or [] if item.get("ready"))
    return f"{ready}/{len(containers)}"


def _pod_status(obj: dict) -> str:
    """What kubectl shows as a pod's status: a waiting or terminated container's reason
    (ContainerCreating, ImagePullBackOff, CrashLoopBackOff, Completed) before the phase."""
    if "deletionTimestamp" in obj.get("metadata", {}):
        return "Terminating"
    for item in _status(obj).get("containerStatuses") or []:
        state = item.get("state") or {}
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason:
            return reason
    return _status(obj).get("phase", "Pending")


def _pod_restarts(obj: dict) -> int:
    return sum(item.get("restartCount", 0) for item in _status(obj).get("containerStatuses") or [])


def _job_completions(obj: dict) -> str:
    return f"{_status(obj).get('succeeded', 0)}/{_spec(obj).get('completions', 1)}"


# Columns between Name and Age, per kind: (title, cell).
_KIND_COLUMNS: dict[str, list[tuple[str, Cell]]] = {
    "Namespace": [("Status", lambda o: _status(o).get("phase", "Active"))],
    "ConfigMap": [("Data", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))],
    "Secret": [
        ("Type", lambda o: o.get("type", "Opaque")),
        # stringData is already folded into data when the Secret was stored.
        ("Data", lambda o: len(o.get("data") or {})),
    ],
    "Service": [
        ("Type", lambda o: _spec(o).get("type", "ClusterIP")),
        ("Cluster-IP", lambda o: _spec(o).get("clusterIP", "<none>")),
        ("External-IP", _external_ip),
        ("Port(s)", _service_ports),
    ],
    "Deployment": [
        ("Ready", _ready_of_desired),
        ("Up-to-date", lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", lambda o: _status(o).get("availableReplicas", 0)),
    ],
    "StatefulSet": [("Ready", _ready_of_desired)],
    "DaemonSet": [
        ("Desired", lambda o: _status(o).get("desiredNumberScheduled", 0)),
        ("Current", lambda o: _status(o).get("currentNumberScheduled", 0)),
        ("Ready", lambda o: _status(o).get("numberReady", 0)),
        ("Up-to-date", lambda o: _status(o).get("updatedNumberScheduled", 0)),
        ("Available", lambda o: _status(o).get("numberAvailable", 0)),
    ],
    "ReplicaSet": [
        ("Desired", lambda o: _spec(o).get("replicas", 1)),
        ("Current", lambda o: _status(o).get("replicas", 0)),
        ("Ready", lambda o: _status(o).get("readyReplicas", 0)),
    ],
    "Pod": [
        ("Ready", _pod_ready),
        ("Status", _pod_status),
        ("Restarts", _pod_restarts),
    ],
    "Job": [("Completions", _job_completions)],
    "PersistentVolumeClaim": [
        ("Status", lambda o: _status(o).get("phase", "Pending")),
        ("Storage Class", lambda o: _spec(o).get("storageClassName", "")),
    ],
}


def _column(title: str, description: str, fmt: str = "") -> dict:
    return {"name": title, "type": "string", "format": fmt, "priority": 0,
            "description": description}


def _metadata_only(obj: dict) -> dict:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def as_table(rt: ResourceType, items: list[dict], version: str, full_objects: bool) -> dict:
    """A meta.k8s.io/v1 Table: Name, the kind's own columns, Age."""
    extra = _KIND_COLUMNS.get(rt.kind, [])
    columns = [_column("Name", "Name of the object.", "name")]
    columns += [_column(title, f"{title} of the {rt.kind}.") for title, _ in extra]
    columns.append(_column("Age", "Time since the object was created."))
    rows = []
    for obj in items:
        metadata = obj.get("metadata") or {}
        cells = [metadata.get("name", "")]
        cells += [cell(obj) for _, cell in extra]
        cells.append(age(metadata.get("creationTimestamp")))
        rows.append({"cells": cells, "object": obj if full_objects else _metadata_only(obj)})
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": version},
        "columnDefinitions": columns,
        "rows": rows,
    }
