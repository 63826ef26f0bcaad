"""Deployments and ReplicaSets: a Deployment keeps one ReplicaSet per pod template (named by
its `pod-template-hash`), scales the new one up and the old ones down within maxSurge and
maxUnavailable, and reports status and conditions as the deployment controller does; a
ReplicaSet keeps its number of pods."""

from __future__ import annotations

import copy
import math
import time
from datetime import datetime, timezone

from .controllers import (
    Cluster,
    is_deleting,
    owner_reference,
    random_suffix,
    set_condition,
    template_hash,
)
from .pods import is_ready

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"


def reconcile_replicasets(cluster: Cluster) -> None:
    for replicaset in cluster.objects("apps", "ReplicaSet"):
        if is_deleting(replicaset):
            continue
        pods = [pod for pod in cluster.controlled(replicaset, "", "Pod") if not is_deleting(pod)]
        wanted = replicaset["spec"].get("replicas", 1)
        for _ in range(wanted - len(pods)):
            create_pod(cluster, replicaset, f"{replicaset['metadata']['name']}-")
        # Like the ReplicaSet controller: drop pods that are not ready first, newest first.
        newest_first = sorted(pods, key=lambda pod: pod["metadata"]["creationTimestamp"],
                              reverse=True)
        extra = sorted(newest_first, key=is_ready)
        for pod in extra[:max(0, len(pods) - wanted)]:
            cluster.delete(pod)
        pods = [pod for pod in cluster.controlled(replicaset, "", "Pod") if not is_deleting(pod)]
        ready = sum(is_ready(pod) for pod in pods)
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods),
                  "readyReplicas": ready, "availableReplicas": ready,
                  "observedGeneration": replicaset["metadata"].get("generation", 1)}
        cluster.set_status(replicaset, {k: v for k, v in status.items()
                                        if v or k in ("replicas", "observedGeneration")})


def create_pod(cluster: Cluster, owner: dict, generate_name: str, name: str | None = None,
               labels: dict | None = None, spec: dict | None = None) -> None:
    """A pod from the owner's template, controlled by the owner."""
    template = owner["spec"].get("template") or {}
    metadata = copy.deepcopy(template.get("metadata") or {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **(labels or {})}
    metadata["ownerReferences"] = [owner_reference(owner)]
    metadata["name"] = name or generate_name + random_suffix()
    metadata["generateName"] = generate_name
    pod_spec = copy.deepcopy(template.get("spec") or {})
    pod_spec.update(spec or {})
    pod_spec.setdefault("restartPolicy", "Always")
    cluster.create("", "Pod", owner["metadata"]["namespace"],
                   {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod_spec})


def reconcile_deployments(cluster: Cluster) -> None:
    for deployment in cluster.objects("apps", "Deployment"):
        if is_deleting(deployment):
            continue
        wanted_hash = template_hash(deployment["spec"].get("template"))
        if not deployment["spec"].get("paused"):
            _roll(cluster, deployment, wanted_hash)
        _report(cluster, cluster.store.by_uid(deployment["metadata"]["uid"]), wanted_hash)


def _template_of(replicaset: dict) -> str:
    return (replicaset["metadata"].get("labels") or {}).get(HASH_LABEL, "")


def _roll(cluster: Cluster, deployment: dict, wanted_hash: str) -> None:
    spec = deployment["spec"]
    replicasets = cluster.controlled(deployment, "apps", "ReplicaSet")
    new = next((rs for rs in replicasets if _template_of(rs) == wanted_hash), None)
    olds = [rs for rs in replicasets if rs is not new]
    desired = spec.get("replicas", 1)
    revision = 1 + max((int((rs["metadata"].get("annotations") or {}).get(REVISION, "0"))
                        for rs in replicasets), default=0)
    if new is None:
        new = _adopt(cluster, deployment, f"{deployment['metadata']['name']}-{wanted_hash}")
    if new is None:
        new = _create_replicaset(cluster, deployment, wanted_hash, revision,
                                 desired if not olds else 0)
        if new is None:
            return
    elif olds and (new["metadata"].get("annotations") or {}).get(REVISION) != str(revision - 1):
        # A rollback to an older template: that ReplicaSet becomes the newest revision.
        cluster.update(new, lambda rs: rs["metadata"].setdefault("annotations", {}).update(
            {REVISION: str(revision)}))
    revision_now = (new["metadata"].get("annotations") or {}).get(REVISION)
    if (deployment["metadata"].get("annotations") or {}).get(REVISION) != revision_now:
        cluster.update(deployment, lambda d: d["metadata"].setdefault("annotations", {}).update(
            {REVISION: str(revision_now)}))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        old_pods = sum((rs.get("status") or {}).get("replicas", 0) for rs in olds)
        for old in olds:
            _scale(cluster, old, 0)
        _scale(cluster, new, desired if not old_pods else 0)
    else:
        _rolling_update(cluster, new, olds, desired, strategy.get("rollingUpdate") or {})
    _prune_history(cluster, olds, spec.get("revisionHistoryLimit", 10))


def _adopt(cluster: Cluster, deployment: dict, name: str) -> dict | None:
    """The Deployment's ReplicaSet left without a controller (deleted with
    `--cascade=orphan`), taken back as the deployment controller does; None if there is none."""
    orphan = next((rs for rs in cluster.in_namespace("apps", "ReplicaSet",
                                                     deployment["metadata"]["namespace"])
                   if rs["metadata"]["name"] == name
                   and not any(ref.get("controller")
                               for ref in rs["metadata"].get("ownerReferences") or [])), None)
    if orphan is None:
        return None
    cluster.update(orphan, lambda rs: rs["metadata"].setdefault("ownerReferences", []).append(
        owner_reference(deployment)))
    return cluster.store.by_uid(orphan["metadata"]["uid"])


def _create_replicaset(cluster: Cluster, deployment: dict, hash_value: str, revision: int,
                       replicas: int) -> dict | None:
    template = copy.deepcopy(deployment["spec"].get("template") or {})
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = hash_value
    selector = copy.deepcopy(deployment["spec"].get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = hash_value
    name = deployment["metadata"]["name"]
    labels = {**(template["metadata"]["labels"])}
    return cluster.create("apps", "ReplicaSet", deployment["metadata"]["namespace"], {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": f"{name}-{hash_value}", "labels": labels,
                     "annotations": {REVISION: str(revision)},
                     "ownerReferences": [owner_reference(deployment)]},
        "spec": {"replicas": replicas, "selector": selector, "template": template,
                 "minReadySeconds": deployment["spec"].get("minReadySeconds", 0)},
    })


def _scale(cluster: Cluster, replicaset: dict, replicas: int) -> None:
    if replicaset["spec"].get("replicas") != replicas:
        cluster.update(replicaset, lambda rs: rs["spec"].update(replicas=replicas))


def _resolve(value: object, total: int, round_up: bool) -> int:
    """maxSurge/maxUnavailable: a number, or a percentage of the desired replicas."""
    if isinstance(value, str) and value.endswith("%"):
        share = total * int(value[:-1]) / 100
        return math.ceil(share) if round_up else math.floor(share)
    return int(value)


def _rolling_update(cluster: Cluster, new: dict, olds: list[dict], desired: int,
                    rolling: dict) -> None:
    surge = _resolve(rolling.get("maxSurge", "25%"), desired, True)
    unavailable = _resolve(rolling.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    everything = [new, *olds]
    total = sum(rs["spec"].get("replicas", 0) for rs in everything)
    new_replicas = new["spec"].get("replicas", 0)
    if new_replicas > desired or not olds:
        new_replicas = desired
    elif new_replicas < desired:
        new_replicas = min(desired, new_replicas + max(0, desired + surge - total))
    _scale(cluster, new, new_replicas)
    available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in everything)
    removable = max(0, available - (desired - unavailable))
    for old in olds:
        replicas = old["spec"].get("replicas", 0)
        old_available = (old.get("status") or {}).get("availableReplicas", 0)
        # Pods of an old ReplicaSet that are not available cost no availability.
        cut = max(0, replicas - old_available) + min(removable, old_available)
        removable -= min(removable, old_available)
        _scale(cluster, old, max(0, replicas - cut))


def _prune_history(cluster: Cluster, olds: list[dict], limit: int) -> None:
    idle = [rs for rs in olds if rs["spec"].get("replicas", 0) == 0
            and not (rs.get("status") or {}).get("replicas")]
    for replicaset in idle[:max(0, len(idle) - limit)]:
        cluster.delete(replicaset)


def _report(cluster: Cluster, deployment: dict, wanted_hash: str) -> None:
    spec = deployment["spec"]
    desired = spec.get("replicas", 1)
    replicasets = cluster.controlled(deployment, "apps", "ReplicaSet")
    new = next((rs for rs in replicasets if _template_of(rs) == wanted_hash), None)

    def total(field: str, sets: list[dict]) -> int:
        return sum((rs.get("status") or {}).get(field, 0) for rs in sets)

    updated = total("replicas", [new] if new else [])
    replicas = total("replicas", replicasets)
    available = total("availableReplicas", replicasets)
    status = {
        "observedGeneration": deployment["metadata"].get("generation", 1),
        "replicas": replicas,
        "updatedReplicas": updated,
        "readyReplicas": total("readyReplicas", replicasets),
        "availableReplicas": available,
        "unavailableReplicas": max(0, replicas - available),
    }
    status = {k: v for k, v in status.items() if v or k in ("observedGeneration", "replicas")}
    conditions = list((deployment.get("status") or {}).get("conditions") or [])
    rolling = spec.get("strategy", {}).get("rollingUpdate") or {}
    unavailable = 0 if spec.get("strategy", {}).get("type") == "Recreate" else _resolve(
        rolling.get("maxUnavailable", "25%"), desired, False)
    if available >= desired - unavailable:
        conditions = set_condition(conditions, "Available", "True", "MinimumReplicasAvailable",
                                   "Deployment has minimum availability.", update_time=True)
    else:
        conditions = set_condition(conditions, "Available", "False",
                                   "MinimumReplicasUnavailable",
                                   "Deployment does not have minimum availability.",
                                   update_time=True)
    conditions = _progressing(cluster, deployment, conditions, new, status,
                              complete=updated == desired == replicas == available)
    status["conditions"] = conditions
    cluster.set_status(deployment, status)


def _progressing(cluster: Cluster, deployment: dict, conditions: list[dict], new: dict | None,
                 status: dict, complete: bool) -> list[dict]:
    """The Progressing condition: its lastUpdateTime moves with every step of the rollout, and
    a rollout that makes no step for progressDeadlineSeconds has timed out."""
    name = new["metadata"]["name"] if new else ""
    if complete:
        return set_condition(conditions, "Progressing", "True", "NewReplicaSetAvailable",
                             f'ReplicaSet "{name}" has successfully progressed.',
                             update_time=True)
    before = next((c for c in conditions if c.get("type") == "Progressing"), None)
    same_set = before is not None and f'"{name}"' in before.get("message", "")
    if same_set and before.get("reason") == "ProgressDeadlineExceeded":
        return conditions
    previous = deployment.get("status") or {}
    stepped = any(previous.get(field) != status.get(field) for field in (
        "replicas", "updatedReplicas", "readyReplicas", "availableReplicas"))
    if not same_set or stepped:
        if same_set:
            reason, message = "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.'
        else:
            reason, message = "NewReplicaSetCreated", f'Created new replica set "{name}"'
        return set_condition(conditions, "Progressing", "True", reason, message,
                             update_time=True, touch=True)
    deadline = deployment["spec"].get("progressDeadlineSeconds", 600)
    since = _seconds_since(before.get("lastUpdateTime"))
    # Times have whole seconds: one more second makes sure a full deadline has passed.
    if since >= deadline + 1:
        return set_condition(conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                             f'ReplicaSet "{name}" has timed out progressing.', update_time=True)
    cluster.wake_at(time.monotonic() + deadline + 1 - since,
                    deployment["metadata"]["namespace"])
    return conditions


def _seconds_since(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - moment).total_seconds()
