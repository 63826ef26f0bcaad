"""StatefulSets (ordered pods `name-0`, `name-1`, ... and their claims), DaemonSets (a pod per
node) and Jobs (pods that run to completion), with the status each controller reports."""

from __future__ import annotations

import copy

from .controllers import Cluster, is_deleting, set_condition, template_hash
from .pods import is_ready
from .rollouts import create_pod
from .store import now

REVISION_LABEL = "controller-revision-hash"


def _revision(owner: dict) -> str:
    return f"{owner['metadata']['name']}-{template_hash(owner['spec'].get('template'))}"


def _pod_revision(pod: dict) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(REVISION_LABEL)


def reconcile_statefulsets(cluster: Cluster) -> None:
    for statefulset in cluster.objects("apps", "StatefulSet"):
        if not is_deleting(statefulset):
            _statefulset(cluster, statefulset)


def _statefulset(cluster: Cluster, statefulset: dict) -> None:
    spec = statefulset["spec"]
    name = statefulset["metadata"]["name"]
    wanted = spec.get("replicas", 1)
    ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    revision = _revision(statefulset)
    pods = {pod["metadata"]["name"]: pod
            for pod in cluster.controlled(statefulset, "", "Pod")}
    for ordinal in range(wanted):
        pod_name = f"{name}-{ordinal}"
        if pod_name in pods:
            if ordered and not is_ready(pods[pod_name]):
                break
            continue
        _claims(cluster, statefulset, ordinal)
        create_pod(cluster, statefulset, f"{name}-", pod_name,
                   {REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": pod_name,
                    "apps.kubernetes.io/pod-index": str(ordinal)},
                   {"hostname": pod_name, "subdomain": spec.get("serviceName", "")})
        if ordered:
            break
    surplus = sorted((pod for pod_name, pod in pods.items()
                      if _ordinal(pod_name, name) >= wanted and not is_deleting(pod)),
                     key=lambda pod: -_ordinal(pod["metadata"]["name"], name))
    for pod in surplus[:1] if ordered else surplus:
        cluster.delete(pod)
    current = [pod for pod in pods.values() if not is_deleting(pod)]
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and len(current) == wanted and all(is_ready(pod) for pod in current):
        # One pod at a time, the highest ordinal first; it comes back with the new template.
        outdated = [pod for pod in current if _pod_revision(pod) != revision]
        if outdated:
            cluster.delete(max(outdated, key=lambda pod: _ordinal(pod["metadata"]["name"],
                                                                   name)))
    pods = [pod for pod in cluster.controlled(statefulset, "", "Pod") if not is_deleting(pod)]
    updated = sum(_pod_revision(pod) == revision for pod in pods)
    previous = statefulset.get("status") or {}
    current_revision = previous.get("currentRevision") or revision
    if updated == wanted == len(pods):
        current_revision = revision
    ready = sum(is_ready(pod) for pod in pods)
    cluster.set_status(statefulset, {
        "observedGeneration": statefulset["metadata"].get("generation", 1),
        "replicas": len(pods),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": sum(_pod_revision(pod) == current_revision for pod in pods),
        "updatedReplicas": updated,
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    })


def _ordinal(pod_name: str, set_name: str) -> int:
    suffix = pod_name[len(set_name) + 1:]
    return int(suffix) if suffix.isdigit() else -1


def _claims(cluster: Cluster, statefulset: dict, ordinal: int) -> None:
    """The claims of one pod from volumeClaimTemplates; they outlive the pod, as on a cluster."""
    namespace = statefulset["metadata"]["namespace"]
    existing = {claim["metadata"]["name"]
                for claim in cluster.in_namespace("", "PersistentVolumeClaim", namespace)}
    for template in statefulset["spec"].get("volumeClaimTemplates") or []:
        claim = copy.deepcopy(template)
        claim_name = (f"{claim.get('metadata', {}).get('name')}-"
                      f"{statefulset['metadata']['name']}-{ordinal}")
        if claim_name in existing:
            continue
        metadata = claim.setdefault("metadata", {})
        metadata["name"] = claim_name
        metadata.setdefault("labels", {}).update(
            (statefulset["spec"].get("selector") or {}).get("matchLabels") or {})
        cluster.create("", "PersistentVolumeClaim", namespace,
                       {"apiVersion": "v1", "kind": "PersistentVolumeClaim", **claim,
                        "metadata": metadata})


def reconcile_daemonsets(cluster: Cluster) -> None:
    nodes = cluster.settings.node_names
    for daemonset in cluster.objects("apps", "DaemonSet"):
        if is_deleting(daemonset):
            continue
        revision = _revision(daemonset)
        pods = [pod for pod in cluster.controlled(daemonset, "", "Pod") if not is_deleting(pod)]
        by_node = {pod["spec"].get("nodeName"): pod for pod in pods}
        name = daemonset["metadata"]["name"]
        generation = str(daemonset["metadata"].get("generation", 1))
        for node in nodes:
            if node not in by_node:
                create_pod(cluster, daemonset, f"{name}-", labels={
                    REVISION_LABEL: revision, "pod-template-generation": generation,
                }, spec={"nodeName": node})
        if pods and all(is_ready(pod) for pod in pods) and len(pods) == len(nodes):
            outdated = [pod for pod in pods if _pod_revision(pod) != revision]
            if outdated:
                cluster.delete(outdated[0])
        pods = [pod for pod in cluster.controlled(daemonset, "", "Pod") if not is_deleting(pod)]
        ready = sum(is_ready(pod) for pod in pods)
        status = {
            "observedGeneration": daemonset["metadata"].get("generation", 1),
            "desiredNumberScheduled": len(nodes),
            "currentNumberScheduled": len(pods),
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "numberUnavailable": len(nodes) - ready,
            "updatedNumberScheduled": sum(_pod_revision(pod) == revision for pod in pods),
        }
        cluster.set_status(daemonset, {k: v for k, v in status.items()
                                       if v or k not in ("numberAvailable",
                                                         "numberUnavailable")})


def reconcile_jobs(cluster: Cluster) -> None:
    for job in cluster.objects("batch", "Job"):
        if not is_deleting(job):
            _job(cluster, job)


def _job(cluster: Cluster, job: dict) -> None:
    spec = job["spec"]
    completions = spec.get("completions", 1)
    parallelism = spec.get("parallelism", 1)
    backoff_limit = spec.get("backoffLimit", 6)
    previous = job.get("status") or {}
    conditions = list(previous.get("conditions") or [])
    finished = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                   for c in conditions)
    pods = [pod for pod in cluster.controlled(job, "", "Pod") if not is_deleting(pod)]

    def phase_count(*phases: str) -> int:
        return sum((pod.get("status") or {}).get("phase", "Pending") in phases for pod in pods)

    succeeded, failed = phase_count("Succeeded"), phase_count("Failed")
    active = phase_count("Pending", "Running")
    status = {"startTime": previous.get("startTime") or now(), "active": active,
              "succeeded": succeeded, "failed": failed,
              "ready": sum(is_ready(pod) for pod in pods), "terminating": 0,
              "uncountedTerminatedPods": {}}
    if not finished and succeeded >= completions:
        stamp = now()
        conditions = set_condition(conditions, "SuccessCriteriaMet", "True",
                                   "CompletionsReached", "Reached expected number of succeeded "
                                   "pods")
        conditions = set_condition(conditions, "Complete", "True", "CompletionsReached",
                                   "Reached expected number of succeeded pods")
        status["completionTime"] = stamp
        finished = True
    elif not finished and failed > backoff_limit:
        for pod in pods:
            if (pod.get("status") or {}).get("phase") in ("Pending", "Running"):
                cluster.delete(pod)
        conditions = set_condition(conditions, "FailureTarget", "True", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit")
        conditions = set_condition(conditions, "Failed", "True", "BackoffLimitExceeded",
                                   "Job has reached the specified backoff limit")
        finished = True
    elif not finished and not spec.get("suspend"):
        missing = min(parallelism, completions - succeeded) - active
        name = job["metadata"]["name"]
        uid = job["metadata"]["uid"]
        for _ in range(max(0, missing)):
            create_pod(cluster, job, f"{name}-", labels={
                "batch.kubernetes.io/job-name": name, "job-name": name,
                "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
            })
    if "completionTime" in previous:
        status["completionTime"] = previous["completionTime"]
    if finished:
        status["active"] = 0
    if conditions:
        status["conditions"] = conditions
    cluster.set_status(job, {k: v for k, v in status.items()
                             if v or k in ("uncountedTerminatedPods", "startTime", "ready",
                                           "terminating")})
