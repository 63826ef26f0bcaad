"""How a live Kubernetes-shaped object is doing, read from its status the way `kubectl
rollout status` and `kubectl wait` read it.

One rule per kind that has a notion of readiness; anything else that exists is Healthy,
including kinds this module has never heard of (a custom resource has no status
convention to read). An absent object is Missing. Every backend that answers
Kubernetes-shaped objects uses these rules; the Docker backend adds what only it can
see (containers restarting).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from dmcommon.identity import group_of

HEALTHY = "Healthy"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
MISSING = "Missing"
UNKNOWN = "Unknown"

# Why a container waits that will not go away by waiting longer.
STUCK_REASONS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "ErrImageNeverPull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class Health:
    """`{status: Healthy|Progressing|Degraded|Missing|Unknown, message}` on the wire."""

    status: str
    message: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status, "message": self.message}


def health_of(obj: dict[str, Any] | None) -> Health:
    """The health of a live object; None (absent) is Missing."""
    if obj is None:
        return Health(MISSING, "not found")
    metadata = obj.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return Health(PROGRESSING, "being deleted")
    rule = _RULES.get((group_of(str(obj.get("apiVersion") or "")), obj.get("kind")))
    if rule is None:
        return Health(HEALTHY, "exists")
    return rule(obj, obj.get("spec") or {}, obj.get("status") or {})


WORKLOADS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"})


def with_pods(health: Health, pods: list[dict[str, Any]]) -> Health:
    """A workload's `health` told apart by its pods: a pod stuck for good (an image that
    cannot be pulled, a crash loop) makes a workload that is still progressing Degraded,
    with that pod's reason."""
    if health.status != PROGRESSING:
        return health
    for pod in pods:
        found = health_of(pod)
        if found.status == DEGRADED:
            name = (pod.get("metadata") or {}).get("name")
            return Health(DEGRADED, f"{health.message}; pod {name}: {found.message}")
    return health


def pod_selector(obj: dict[str, Any]) -> str | None:
    """The `-l` selector of a workload's pods, when its spec selects by labels only."""
    selector = (obj.get("spec") or {}).get("selector") or {}
    labels = selector.get("matchLabels")
    if not isinstance(labels, dict) or not labels or selector.get("matchExpressions"):
        return None
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _counts(**counts: int) -> Health | None:
    """Progressing with the first count short of `desired`, in the order given (available
    first: it is what a fresh or failing rollout lacks; updated tells a rolling update)."""
    desired = counts.pop("desired")
    for what, count in counts.items():
        if count < desired:
            return Health(PROGRESSING, f"{count}/{desired} replicas {what}")
    return None


def _unobserved(obj: dict[str, Any], status: dict[str, Any]) -> Health | None:
    generation = (obj.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if generation is not None and (observed is None or observed < generation):
        return Health(PROGRESSING, f"generation {generation} not observed yet")
    return None


def _condition(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for condition in status.get("conditions") or []:
        if isinstance(condition, dict) and condition.get("type") == kind:
            return condition
    return None


def _holding(status: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition `kind` when its status is True."""
    condition = _condition(status, kind)
    return condition if condition and condition.get("status") == "True" else None


def _explained(lead: str, condition: dict[str, Any]) -> str:
    """`lead: Reason: message`, with whichever parts the condition has."""
    parts = [lead] + [str(condition[key]) for key in ("reason", "message") if condition.get(key)]
    return ": ".join(part for part in parts if part)


def _deployment(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    progressing = _condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(DEGRADED, _explained("", progressing))
    failure = _holding(status, "ReplicaFailure")
    if failure:
        return Health(DEGRADED, _explained("", failure))
    desired = spec.get("replicas", 1)
    updated = status.get("updatedReplicas", 0)
    found = _unobserved(obj, status) or _counts(
        desired=desired,
        available=status.get("availableReplicas", 0),
        updated=updated,
        ready=status.get("readyReplicas", 0),
    )
    if found:
        return found
    old = status.get("replicas", 0) - updated
    if old > 0:
        return Health(PROGRESSING, f"{old} old replicas pending termination")
    return Health(HEALTHY, f"{desired}/{desired} replicas available")


def _replica_set(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    desired = spec.get("replicas", 1)
    return (
        _unobserved(obj, status)
        or _counts(
            desired=desired,
            available=status.get("availableReplicas", 0),
            ready=status.get("readyReplicas", 0),
        )
        or Health(HEALTHY, f"{desired}/{desired} replicas available")
    )


def _stateful_set(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    desired = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    # Pods of an OnDelete set are replaced only by hand: not being updated is no fault.
    on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"
    updated = desired if on_delete else status.get("updatedReplicas", 0)
    return (
        _unobserved(obj, status)
        or _counts(
            desired=desired,
            available=status.get("availableReplicas", ready),
            updated=updated,
            ready=ready,
        )
        or Health(HEALTHY, f"{desired}/{desired} replicas available")
    )


def _daemon_set(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    desired = status.get("desiredNumberScheduled", 0)
    return (
        _unobserved(obj, status)
        or _counts(
            desired=desired,
            available=status.get("numberAvailable", 0),
            updated=status.get("updatedNumberScheduled", 0),
            ready=status.get("numberReady", 0),
        )
        or Health(HEALTHY, f"{desired}/{desired} replicas available")
    )


def _job(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    failed = _holding(status, "Failed")
    if failed:
        return Health(DEGRADED, _explained("failed", failed))
    if _holding(status, "Complete"):
        return Health(HEALTHY, f"complete: {status.get('succeeded', 0)} succeeded")
    if spec.get("suspend"):
        return Health(PROGRESSING, "suspended")
    completions = spec.get("completions", 1)
    return Health(
        PROGRESSING,
        f"{status.get('active', 0)} active, {status.get('succeeded', 0)}/{completions} succeeded",
    )


def _pod(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    phase = status.get("phase") or "Pending"
    containers = (status.get("initContainerStatuses") or []) + (
        status.get("containerStatuses") or []
    )
    if phase == "Succeeded":
        return Health(HEALTHY, "completed")
    for container in containers:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in STUCK_REASONS:
            detail = f" ({waiting['message']})" if waiting.get("message") else ""
            return Health(
                DEGRADED, f"container {container.get('name')}: {waiting['reason']}{detail}"
            )
    if phase == "Failed":
        return Health(DEGRADED, f"failed: {status.get('reason') or _exit_codes(containers)}")
    if _holding(status, "Ready"):
        return Health(HEALTHY, "ready")
    waiting_for = [c.get("name") for c in containers if not c.get("ready")]
    if waiting_for:
        return Health(PROGRESSING, f"{phase}: containers not ready: {', '.join(waiting_for)}")
    return Health(PROGRESSING, phase)


def _exit_codes(containers: list[dict[str, Any]]) -> str:
    codes = [
        f"container {c.get('name')} exited with code {terminated.get('exitCode')}"
        for c in containers
        if (terminated := (c.get("state") or {}).get("terminated")) and terminated.get("exitCode")
    ]
    return ", ".join(codes) or "the pod failed"


def _claim(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    phase = status.get("phase") or "Pending"
    if phase == "Bound":
        return Health(HEALTHY, "bound")
    if phase == "Lost":
        return Health(DEGRADED, "lost: its volume is gone")
    return Health(PROGRESSING, f"{phase}: not bound yet")


def _service(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
    if spec.get("type") != "LoadBalancer":
        return Health(HEALTHY, "exists")
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    addresses = [entry.get("ip") or entry.get("hostname") for entry in ingress]
    addresses = [address for address in addresses if address]
    if not addresses:
        return Health(PROGRESSING, "waiting for a load-balancer address")
    return Health(HEALTHY, f"load balancer at {', '.join(addresses)}")


def _condition_rule(ready: str, failing: str) -> Callable[..., Health]:
    """A kind that is healthy when condition `ready` is True; `failing` False is Degraded."""

    def rule(obj: dict[str, Any], spec: dict[str, Any], status: dict[str, Any]) -> Health:
        if _holding(status, ready):
            return Health(HEALTHY, ready.lower())
        failed = _condition(status, failing)
        if failed and failed.get("status") == "False":
            return Health(DEGRADED, _explained(f"{failing} is False", failed))
        waiting = _condition(status, ready) or {}
        return Health(PROGRESSING, _explained(f"not {ready.lower()} yet", waiting))

    return rule


_RULES: dict[tuple[str, str], Callable[..., Health]] = {
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replica_set,
    ("", "ReplicationController"): _replica_set,
    ("apps", "StatefulSet"): _stateful_set,
    ("apps", "DaemonSet"): _daemon_set,
    ("batch", "Job"): _job,
    ("", "Pod"): _pod,
    ("", "PersistentVolumeClaim"): _claim,
    ("", "Service"): _service,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): _condition_rule(
        "Established", "NamesAccepted"
    ),
    ("apiregistration.k8s.io", "APIService"): _condition_rule("Available", "Available"),
}
