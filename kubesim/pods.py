"""The simulated kubelet: pods are scheduled, go Pending -> Running/Ready after a start delay,
or never get ready when an image rule says so; a Job's pods run to completion."""

from __future__ import annotations

import itertools
import time

from .controllers import Cluster, is_deleting
from .faults import ImageRule
from .store import now

STABLE = float("inf")
# A pod that cannot pull its image checks again this often, so clearing the rule lets it start.
RETRY_SECONDS = 0.5
CRASH_BACKOFF_CAP = 5.0


class Kubelet:
    """Moves pods through their phases; remembers when each pod is due to change next."""

    def __init__(self) -> None:
        self._due: dict[str, float] = {}
        self._addresses = itertools.count(2)

    def __call__(self, cluster: Cluster) -> None:
        _register_nodes(cluster)
        moment = time.monotonic()
        load: dict[str, int] | None = None
        for pod in cluster.objects("", "Pod"):
            uid = pod["metadata"]["uid"]
            if is_deleting(pod) or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                continue
            images = [c.get("image", "") for c in pod["spec"].get("containers") or []]
            rule = cluster.controls.image_rule(images)
            if uid not in self._due:
                load = load if load is not None else _node_load(cluster)
                self._due[uid] = moment + _start_delay(cluster, rule)
                self._schedule(cluster, pod, load)
            elif moment >= self._due[uid]:
                self._due[uid] = self._advance(cluster, pod, rule, moment)
            if self._due[uid] != STABLE:
                cluster.wake_at(self._due[uid], pod["metadata"]["namespace"])
        for uid in [uid for uid in self._due if cluster.store.by_uid(uid) is None]:
            del self._due[uid]

    def _schedule(self, cluster: Cluster, pod: dict, load: dict[str, int]) -> None:
        """Bind the pod to the node with the fewest pods and show it as being created."""
        if not pod["spec"].get("nodeName"):
            node = min(load, key=lambda name: (load[name], name))
            load[node] += 1
            cluster.update(pod, lambda current: current["spec"].update(nodeName=node))
            pod = cluster.store.by_uid(pod["metadata"]["uid"])
        cluster.set_status(pod, {
            "phase": "Pending",
            "conditions": [_condition("PodScheduled", "True")],
            "hostIP": f"10.0.0.{_node_number(cluster, pod)}",
            "qosClass": "BestEffort",
            "containerStatuses": [
                _container(container, False, {"waiting": {"reason": "ContainerCreating"}})
                for container in pod["spec"].get("containers") or []],
        })

    def _advance(self, cluster: Cluster, pod: dict, rule: ImageRule | None,
                 moment: float) -> float:
        """Write the pod's next status; return when it is due to change again."""
        status = dict(pod.get("status") or {})
        waiting = [s.get("state", {}).get("waiting", {}).get("reason")
                   for s in status.get("containerStatuses") or []]
        if rule is not None and rule.reason == "ImagePullBackOff" and "ImagePullBackOff" in waiting:
            return moment + RETRY_SECONDS
        status.setdefault("podIP", self._next_address())
        status["podIPs"] = [{"ip": status["podIP"]}]
        status.setdefault("startTime", now())
        containers = pod["spec"].get("containers") or []
        delay = cluster.settings.pod_start_seconds
        due = STABLE
        if rule is not None and rule.reason == "ImagePullBackOff":
            status.update(phase="Pending", containerStatuses=[
                _container(c, False, {"waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f'Back-off pulling image "{c.get("image", "")}"'}})
                for c in containers])
            status["conditions"] = _not_ready(containers)
            due = moment + RETRY_SECONDS
        elif rule is not None and _restarts_never(pod):
            status.update(phase="Failed", containerStatuses=[
                _container(c, False, {"terminated": _exit(1, "Error")}) for c in containers])
            status["conditions"] = _not_ready(containers, "PodFailed")
        elif rule is not None:
            restarts = 1 + max((s.get("restartCount", 0)
                                for s in status.get("containerStatuses") or []), default=0)
            name = pod["metadata"]["name"]
            # The kubelet's back-off doubles from 10 s up to 5 min; here from the start delay
            # up to CRASH_BACKOFF_CAP, so a test sees restarts within seconds.
            backoff = min(10 * 2 ** (restarts - 1), 300)
            status.update(phase="Running", containerStatuses=[
                {**_container(c, False, {"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": f"back-off {_duration(backoff)} restarting failed "
                               f"container={c['name']} pod={name}"}}),
                 "restartCount": restarts,
                 "lastState": {"terminated": _exit(1, "Error")}}
                for c in containers])
            status["conditions"] = _not_ready(containers)
            due = moment + min(max(delay, RETRY_SECONDS / 10) * 2 ** (restarts - 1),
                               CRASH_BACKOFF_CAP)
        elif _runs_to_completion(pod) and status.get("phase") == "Running":
            status.update(phase="Succeeded", containerStatuses=[
                _container(c, False, {"terminated": _exit(0, "Completed")}) for c in containers])
            status["conditions"] = _not_ready(containers, "PodCompleted")
        else:
            if status.get("phase") != "Running":
                status.update(phase="Running", containerStatuses=[
                    {**_container(c, True, {"running": {"startedAt": now()}}), "started": True}
                    for c in containers])
                status["conditions"] = [
                    _condition(kind, "True") for kind in
                    ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                     "PodScheduled")]
            if _runs_to_completion(pod):
                due = moment + delay
        cluster.set_status(pod, status)
        return due

    def _next_address(self) -> str:
        number = next(self._addresses)
        return f"10.244.{(number >> 8) & 255}.{number & 255}"


def _register_nodes(cluster: Cluster) -> None:
    """The simulated nodes exist, Ready, as kubelets register theirs."""
    existing = {node["metadata"]["name"] for node in cluster.objects("", "Node")}
    for number, name in enumerate(cluster.settings.node_names, start=1):
        if name in existing:
            continue
        cluster.create("", "Node", "", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64"}},
            "spec": {"podCIDR": f"10.244.{number}.0/24"},
            "status": {
                "conditions": [_condition("Ready", "True", "KubeletReady",
                                          "kubelet is posting ready status")],
                "addresses": [{"type": "InternalIP", "address": f"10.0.0.{number}"},
                              {"type": "Hostname", "address": name}],
                "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "nodeInfo": {"kubeletVersion": "v1.32.0", "operatingSystem": "linux",
                             "architecture": "amd64", "containerRuntimeVersion": "sim"},
            },
        })


def _node_load(cluster: Cluster) -> dict[str, int]:
    """Pods per simulated node, across every namespace."""
    load = dict.fromkeys(cluster.settings.node_names, 0)
    for pod in cluster.store.peek(cluster.type("", "Pod")):
        if pod["spec"].get("nodeName") in load:
            load[pod["spec"]["nodeName"]] += 1
    return load


def _node_number(cluster: Cluster, pod: dict) -> int:
    names = cluster.settings.node_names
    node = pod["spec"].get("nodeName")
    return names.index(node) + 1 if node in names else 1


def _start_delay(cluster: Cluster, rule: ImageRule | None) -> float:
    if rule is not None and rule.start_seconds is not None:
        return rule.start_seconds
    return cluster.settings.pod_start_seconds


def _duration(seconds: int) -> str:
    """Go's spelling of a duration, as the kubelet prints it: 10s, 1m20s, 5m0s."""
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


def _runs_to_completion(pod: dict) -> bool:
    """A Job's pods finish; other pods run until deleted."""
    return any(ref.get("kind") == "Job" for ref in pod["metadata"].get("ownerReferences") or [])


def _restarts_never(pod: dict) -> bool:
    return _runs_to_completion(pod) or pod["spec"].get("restartPolicy") == "Never"


def _exit(code: int, reason: str) -> dict:
    return {"exitCode": code, "reason": reason, "startedAt": now(), "finishedAt": now()}


def _condition(kind: str, state: str, reason: str | None = None,
               message: str | None = None) -> dict:
    condition = {"type": kind, "status": state, "lastProbeTime": None,
                 "lastTransitionTime": now()}
    if reason:
        condition.update(reason=reason, message=message or "")
    return condition


def _not_ready(containers: list[dict], reason: str = "ContainersNotReady") -> list[dict]:
    names = " ".join(c.get("name", "") for c in containers)
    message = f"containers with unready status: [{names}]"
    if reason != "ContainersNotReady":
        message = ""
    return [
        _condition("Initialized", "True"),
        _condition("Ready", "False", reason, message),
        _condition("ContainersReady", "False", reason, message),
        _condition("PodScheduled", "True"),
    ]


def _container(container: dict, ready: bool, state: dict) -> dict:
    image = container.get("image", "")
    return {"name": container.get("name", ""), "image": image, "imageID": "",
            "ready": ready, "started": ready, "restartCount": 0, "state": state}


def is_ready(pod: dict) -> bool:
    """Whether the pod runs with its Ready condition True (and is not being deleted)."""
    status = pod.get("status") or {}
    return not is_deleting(pod) and status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or [])
