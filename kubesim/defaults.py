"""Fields the API server fills in: defaults, allocated addresses and a plausible, idle status.

The simulator runs nothing, so a new workload's status reports the observed generation
and zero replicas; it changes only when a client writes the status subresource.
"""

from __future__ import annotations

import base64
import itertools

_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "ReplicationController")


class ClusterIPs:
    """Hands out Service cluster IPs from 10.96.0.0/12, skipping .0 and the API's own .1."""

    def __init__(self) -> None:
        self._counter = itertools.count(10)

    def next(self) -> str:
        number = next(self._counter)
        return f"10.{96 + (number >> 16) % 16}.{(number >> 8) & 255}.{number & 255}"


def apply_defaults(kind: str, obj: dict, cluster_ips: ClusterIPs, old: dict | None) -> None:
    """Fill in what the API server would, in place; `old` is the stored object on updates."""
    spec = obj.get("spec")
    if kind == "Namespace":
        name = obj["metadata"]["name"]
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        terminating = "deletionTimestamp" in obj["metadata"]
        obj["status"] = {"phase": "Terminating" if terminating else "Active"}
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None) or {}
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if not data:
            obj.pop("data")
    elif kind == "Service" and isinstance(spec, dict):
        _service_defaults(spec, cluster_ips, (old or {}).get("spec") or {})
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind in _WORKLOADS and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        if kind == "Deployment":
            spec.setdefault("revisionHistoryLimit", 10)
            spec.setdefault("progressDeadlineSeconds", 600)
            spec.setdefault("strategy", {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            })
        # Only a new object gets the idle status: later writes keep what was written to it.
        if old is None:
            obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1),
                             "replicas": 0}
    elif kind == "DaemonSet" and old is None:
        obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1),
                         "currentNumberScheduled": 0, "desiredNumberScheduled": 0,
                         "numberMisscheduled": 0, "numberReady": 0}
    elif kind == "Pod":
        obj.setdefault("status", {"phase": "Pending"})
    elif kind == "PersistentVolumeClaim":
        obj.setdefault("status", {"phase": "Pending"})
    elif kind == "CustomResourceDefinition":
        obj["status"] = _crd_status(obj)


def _service_defaults(spec: dict, cluster_ips: ClusterIPs, old_spec: dict) -> None:
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] == "ExternalName":
        return
    # A Service keeps its address across updates, as on a real cluster.
    if not spec.get("clusterIP"):
        spec["clusterIP"] = old_spec.get("clusterIP") or cluster_ips.next()
    spec["clusterIPs"] = [spec["clusterIP"]]
    spec.setdefault("ipFamilies", ["IPv4"])
    spec.setdefault("ipFamilyPolicy", "SingleStack")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))


def _crd_status(crd: dict) -> dict:
    spec = crd.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", str(names.get("kind", "")).lower())
    names.setdefault("listKind", f"{names.get('kind', '')}List")
    condition = {"status": "True", "reason": "NoConflicts", "message": "no conflicts found"}
    return {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", **condition},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted"},
        ],
        "storedVersions": [v.get("name") for v in spec.get("versions") or [] if v.get("storage")],
    }
