"""Objects as a GET answers them: the applied object with its metadata and a `status`
read from the engine (ready replicas are running containers), and the pods that
workloads run shaped as Pod objects."""

from __future__ import annotations

import base64
import copy
from collections import defaultdict
from typing import Any

from resourcifier.backends.docker.engine import (
    CONTAINER,
    HASH,
    INDEX,
    KIND,
    NAME,
    NAMESPACE,
    POD,
    ROLE,
    ROLE_CONTAINER,
    Engine,
)
from resourcifier.backends.docker.kinds import API_VERSIONS, WORKLOAD_KINDS, key_for
from resourcifier.backends.docker.networks import Networks
from resourcifier.backends.docker.pods import Pods, pod_template, template_hash
from resourcifier.backends.docker.records import Records, key_of


class Status:
    """Reads what the engine runs back into Kubernetes-shaped objects."""

    def __init__(self, engine: Engine, records: Records, networks: Networks, pods: Pods):
        self._engine = engine
        self._records = records
        self._networks = networks
        self._pods = pods

    def live(self, record: dict[str, Any]) -> dict[str, Any]:
        """The recorded object as the cluster would show it, with its status."""
        obj = copy.deepcopy(record["applied"])
        metadata = obj.setdefault("metadata", {})
        if record["namespace"]:
            metadata["namespace"] = record["namespace"]
        metadata["uid"] = record["uid"]
        metadata["creationTimestamp"] = record["creationTimestamp"]
        metadata["generation"] = record["generation"]
        kind = record["kind"]
        if kind == "Secret":
            data = obj.setdefault("data", {})
            for key, value in (obj.pop("stringData", None) or {}).items():
                data[key] = base64.b64encode(value.encode()).decode()
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Bound",
                             "accessModes": obj["spec"].get("accessModes", [])}
        elif kind == "Service":
            obj["spec"].setdefault("type", "ClusterIP")
            obj["status"] = {"loadBalancer": {}}
        elif kind in WORKLOAD_KINDS:
            obj["status"] = self._workload_status(record)
        return obj

    def generated_pods(self, namespace: str | None) -> list[dict[str, Any]]:
        """Pods that workloads (not Pod objects) run, shaped as Pod objects."""
        labels = {ROLE: ROLE_CONTAINER}
        if namespace is not None:
            labels[NAMESPACE] = namespace
        owners: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for summary in self._engine.containers(labels):
            found = summary["Labels"]
            if found[KIND] != "Pod":
                owners[(found[KIND], found[NAMESPACE], found[NAME])][found[POD]].append(summary)
        pods = []
        for (kind, pod_namespace, name), groups in owners.items():
            record = self._records.read(key_for(kind, pod_namespace, name))
            if record is None:
                continue
            template = pod_template(record["applied"])
            for pod, containers in groups.items():
                containers.sort(key=lambda summary: int(summary["Labels"][INDEX]))
                pods.append({
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod,
                        "namespace": pod_namespace,
                        "labels": (template.get("metadata") or {}).get("labels") or {},
                        "ownerReferences": [{"apiVersion": API_VERSIONS[kind], "kind": kind,
                                             "name": name, "uid": record["uid"]}],
                    },
                    "spec": template["spec"],
                    "status": self._pod_status(containers, template["spec"]),
                })
        return pods

    def _workload_status(self, record: dict[str, Any]) -> dict[str, Any]:
        key = key_of(record)
        template = pod_template(record["applied"])
        groups = self._pods.groups(key)
        pods = [self._pod_status(containers, template["spec"]) for containers in groups.values()]
        if key.kind == "Pod":
            return pods[0] if pods else {"phase": "Pending"}
        if key.kind == "Job":
            return _job_status(pods)
        digest = template_hash(template, self._networks.published(
            key.namespace, (template.get("metadata") or {}).get("labels") or {}))
        ready = sum(1 for pod in pods if _pod_ready(pod))
        return {
            "observedGeneration": record["generation"],
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": sum(
                1 for containers in groups.values() if containers[0]["Labels"][HASH] == digest
            ),
        }

    def _pod_status(self, containers: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
        statuses = []
        for summary in containers:
            details = self._engine.api.inspect_container(summary["Id"])
            state = details["State"]
            if state["Running"] and not state.get("Restarting"):
                shown = {"running": {"startedAt": state["StartedAt"]}}
            elif state["Status"] == "exited":
                shown = {"terminated": {"exitCode": state["ExitCode"],
                                        "finishedAt": state["FinishedAt"]}}
            else:
                shown = {"waiting": {"reason": state["Status"]}}
            statuses.append({
                "name": summary["Labels"][CONTAINER],
                "image": details["Config"]["Image"],
                "containerID": f"docker://{summary['Id']}",
                "ready": "running" in shown,
                "restartCount": details.get("RestartCount", 0),
                "state": shown,
            })
        status: dict[str, Any] = {"phase": _phase(statuses, len(spec["containers"])),
                                  "containerStatuses": statuses}
        if containers:
            networks = containers[0].get("NetworkSettings", {}).get("Networks") or {}
            address = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")),
                           None)
            if address:
                status["podIP"] = address
        return status


def _phase(statuses: list[dict[str, Any]], expected: int) -> str:
    states = [next(iter(status["state"])) for status in statuses]
    if len(states) < expected or "waiting" in states and "running" not in states:
        return "Pending"
    if all(state == "terminated" for state in states):
        codes = [status["state"]["terminated"]["exitCode"] for status in statuses]
        return "Succeeded" if not any(codes) else "Failed"
    return "Running"


def _pod_ready(status: dict[str, Any]) -> bool:
    return status["phase"] == "Running" and all(c["ready"] for c in status["containerStatuses"])


def _job_status(pods: list[dict[str, Any]]) -> dict[str, Any]:
    phase = pods[0]["phase"] if pods else "Pending"
    if phase == "Succeeded":
        return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    if phase == "Failed":
        return {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                                             "reason": "BackoffLimitExceeded"}]}
    return {"active": 1 if pods else 0}
