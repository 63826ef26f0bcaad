"""Objects as a GET answers them: the applied object with its metadata and a `status`
read from the engine (ready replicas are running containers), and the pods that
workloads run shaped as Pod objects.

Health follows `resourcifier.health` on those objects, plus what only the engine shows:
a container that restarted (Docker restarts a crashing container with no CrashLoopBackOff
pause long enough to be seen) makes its pod and workload Degraded. A Job's retries are
its own business: its conditions decide.
"""

from __future__ import annotations

import base64
import copy
from collections import defaultdict
from typing import Any

from resourcifier.backends.base import Observation
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
from resourcifier.health import DEGRADED, HEALTHY, Health, health_of


class Status:
    """Reads what the engine runs back into Kubernetes-shaped objects."""

    def __init__(self, engine: Engine, records: Records, networks: Networks, pods: Pods):
        self._engine = engine
        self._records = records
        self._networks = networks
        self._pods = pods

    def live(self, record: dict[str, Any]) -> dict[str, Any]:
        """The recorded object as the cluster would show it, with its status."""
        return self.observe(record).live  # type: ignore[return-value]

    def observe(self, record: dict[str, Any]) -> Observation:
        """The live object of a record and its health."""
        obj = shaped(record)
        kind = record["kind"]
        pods: dict[str, dict[str, Any]] = {}
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Bound",
                             "accessModes": obj["spec"].get("accessModes", [])}
        elif kind == "Service":
            obj["spec"].setdefault("type", "ClusterIP")
            # LoadBalancer ports are published on the host: that is its address.
            ingress = [{"ip": "127.0.0.1"}] if obj["spec"]["type"] == "LoadBalancer" else []
            obj["status"] = {"loadBalancer": {"ingress": ingress} if ingress else {}}
        elif kind in WORKLOAD_KINDS:
            obj["status"], pods = self._workload_status(record)
        return Observation(obj, _health(obj, pods))

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

    def _workload_status(
        self, record: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The workload's status and its pods' statuses by pod name."""
        key = key_of(record)
        template = pod_template(record["applied"])
        groups = self._pods.groups(key)
        pods = {pod: self._pod_status(containers, template["spec"])
                for pod, containers in groups.items()}
        if key.kind == "Pod":
            return pods.get(key.name, {"phase": "Pending"}), pods
        if key.kind == "Job":
            return _job_status(list(pods.values())), pods
        digest = template_hash(template, self._networks.published(
            key.namespace, (template.get("metadata") or {}).get("labels") or {}))
        ready = sum(1 for pod in pods.values() if _pod_ready(pod))
        return {
            "observedGeneration": record["generation"],
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": sum(
                1 for containers in groups.values() if containers[0]["Labels"][HASH] == digest
            ),
        }, pods

    def _pod_status(self, containers: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
        statuses = []
        for summary in containers:
            details = self._engine.api.inspect_container(summary["Id"])
            state = details["State"]
            if state.get("Restarting"):
                # Waiting to start again after it exited: what a kubelet calls a crash loop.
                shown = {"waiting": {"reason": "CrashLoopBackOff",
                                     "message": f"exited with code {state['ExitCode']}"}}
            elif state["Running"]:
                shown = {"running": {"startedAt": state["StartedAt"]}}
            elif state["Status"] == "exited":
                shown = {"terminated": {"exitCode": state["ExitCode"],
                                        "reason": "Completed" if not state["ExitCode"] else "Error",
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
        phase = _phase(statuses, len(spec["containers"]))
        ready = phase == "Running" and all(container["ready"] for container in statuses)
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": statuses,
        }
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
    return status["conditions"][0]["status"] == "True"


def _job_status(pods: list[dict[str, Any]]) -> dict[str, Any]:
    phase = pods[0]["phase"] if pods else "Pending"
    if phase == "Succeeded":
        return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    if phase == "Failed":
        exits = ", ".join(
            f"container {container['name']} exited with code "
            f"{container['state']['terminated']['exitCode']}"
            for container in pods[0]["containerStatuses"]
            if container["state"]["terminated"]["exitCode"]
        )
        return {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                                             "reason": "BackoffLimitExceeded",
                                             "message": exits}]}
    return {"active": 1 if pods else 0}


def _health(obj: dict[str, Any], pods: dict[str, dict[str, Any]]) -> Health:
    """The object's health by the shared rules, made Degraded by a pod that is (a Job
    excepted)."""
    health = health_of(obj)
    if obj["kind"] == "Job":
        return health
    for name, status in sorted(pods.items()):
        pod = _pod_health(status)
        if pod.status == DEGRADED:
            return pod if obj["kind"] == "Pod" else Health(DEGRADED, f"pod {name}: {pod.message}")
    return health


def _pod_health(status: dict[str, Any]) -> Health:
    health = health_of({"apiVersion": "v1", "kind": "Pod", "status": status})
    if health.status != HEALTHY:
        return health
    for container in status["containerStatuses"]:
        if container["restartCount"]:
            return Health(DEGRADED, f"container {container['name']} restarted "
                                    f"{container['restartCount']} times")
    return health


def shaped(record: dict[str, Any]) -> dict[str, Any]:
    """The recorded object with the metadata the backend gives it, without a status."""
    obj = copy.deepcopy(record["applied"])
    metadata = obj.setdefault("metadata", {})
    if record["namespace"]:
        metadata["namespace"] = record["namespace"]
    metadata["uid"] = record["uid"]
    metadata["creationTimestamp"] = record["creationTimestamp"]
    metadata["generation"] = record["generation"]
    if record["kind"] == "Secret":
        data = obj.setdefault("data", {})
        for key, value in (obj.pop("stringData", None) or {}).items():
            data[key] = base64.b64encode(value.encode()).decode()
    return obj
