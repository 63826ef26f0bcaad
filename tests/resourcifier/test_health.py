"""The health rules, kind by kind, on Kubernetes-shaped objects as a cluster returns them."""

from __future__ import annotations

from typing import Any

import pytest

from resourcifier.health import Health, health_of


def obj(api_version: str, kind: str, spec: dict | None = None, status: dict | None = None,
        generation: int | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "x"}
    if generation is not None:
        metadata["generation"] = generation
    found: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": metadata}
    if spec is not None:
        found["spec"] = spec
    if status is not None:
        found["status"] = status
    return found


def deployment(status: dict[str, Any]) -> dict[str, Any]:
    """A Deployment of 3 replicas at generation 1 with `status`."""
    return obj("apps/v1", "Deployment", {"replicas": 3}, status, generation=1)


ROLLED_OUT = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
              "availableReplicas": 3}


def test_an_absent_object_is_missing():
    assert health_of(None) == Health("Missing", "not found")


def test_a_rolled_out_deployment_is_healthy():
    assert health_of(deployment(ROLLED_OUT)) == Health("Healthy", "3/3 replicas available")


@pytest.mark.parametrize("status, message", [
    ({**ROLLED_OUT, "availableReplicas": 1}, "1/3 replicas available"),
    ({**ROLLED_OUT, "updatedReplicas": 2}, "2/3 replicas updated"),
    ({**ROLLED_OUT, "readyReplicas": 2}, "2/3 replicas ready"),
    ({**ROLLED_OUT, "replicas": 4}, "1 old replicas pending termination"),
    ({**ROLLED_OUT, "observedGeneration": 0}, "generation 1 not observed yet"),
    ({"replicas": 0}, "generation 1 not observed yet"),
])
def test_a_deployment_short_of_its_rollout_is_progressing(status, message):
    assert health_of(deployment(status)) == Health("Progressing", message)


def test_a_deployment_past_its_progress_deadline_is_degraded():
    stuck = deployment({**ROLLED_OUT, "availableReplicas": 0, "conditions": [{
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": 'ReplicaSet "x-1" has timed out progressing.'}]})
    assert health_of(stuck) == Health(
        "Degraded", 'ProgressDeadlineExceeded: ReplicaSet "x-1" has timed out progressing.')


def test_a_deployment_whose_replicas_cannot_be_created_is_degraded():
    failing = deployment({**ROLLED_OUT, "conditions": [{
        "type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "exceeded quota"}]})
    assert health_of(failing) == Health("Degraded", "FailedCreate: exceeded quota")


def test_replica_sets_and_stateful_sets_count_their_replicas():
    replica_set = obj("apps/v1", "ReplicaSet", {"replicas": 2},
                      {"observedGeneration": 1, "readyReplicas": 2, "availableReplicas": 1}, 1)
    stateful = obj("apps/v1", "StatefulSet", {"replicas": 2},
                   {"observedGeneration": 1, "readyReplicas": 2, "availableReplicas": 2,
                    "updatedReplicas": 2}, 1)
    assert health_of(replica_set) == Health("Progressing", "1/2 replicas available")
    assert health_of(stateful) == Health("Healthy", "2/2 replicas available")


def test_an_on_delete_stateful_set_is_not_waiting_for_updates():
    spec = {"replicas": 1, "updateStrategy": {"type": "OnDelete"}}
    stateful = obj("apps/v1", "StatefulSet", spec,
                   {"observedGeneration": 1, "readyReplicas": 1, "availableReplicas": 1}, 1)
    assert health_of(stateful).status == "Healthy"


def test_a_daemon_set_counts_the_nodes_it_should_run_on():
    daemons = obj("apps/v1", "DaemonSet", {}, {
        "observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
        "numberReady": 3, "numberAvailable": 2}, 1)
    assert health_of(daemons) == Health("Progressing", "2/3 replicas available")


@pytest.mark.parametrize("status, expected", [
    ({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
     Health("Healthy", "complete: 1 succeeded")),
    ({"failed": 7, "conditions": [{"type": "Failed", "status": "True",
                                   "reason": "BackoffLimitExceeded",
                                   "message": "Job has reached its backoff limit"}]},
     Health("Degraded", "failed: BackoffLimitExceeded: Job has reached its backoff limit")),
    ({"active": 1}, Health("Progressing", "1 active, 0/1 succeeded")),
])
def test_a_job_is_healthy_once_complete_and_degraded_once_failed(status, expected):
    assert health_of(obj("batch/v1", "Job", {}, status)) == expected


def pod(phase: str, *containers: dict, ready: bool = False) -> dict[str, Any]:
    return obj("v1", "Pod", {}, {
        "phase": phase, "containerStatuses": list(containers),
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]})


def test_a_ready_pod_is_healthy():
    assert health_of(pod("Running", {"name": "main", "ready": True}, ready=True)) == Health(
        "Healthy", "ready")


@pytest.mark.parametrize("reason", ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"])
def test_a_pod_whose_container_cannot_start_is_degraded_with_the_reason(reason):
    waiting = {"name": "main", "ready": False,
               "state": {"waiting": {"reason": reason, "message": "back-off 10s"}}}
    assert health_of(pod("Pending", waiting)) == Health(
        "Degraded", f"container main: {reason} (back-off 10s)")


def test_a_pod_still_starting_is_progressing():
    creating = {"name": "main", "ready": False,
                "state": {"waiting": {"reason": "ContainerCreating"}}}
    assert health_of(pod("Pending", creating)) == Health(
        "Progressing", "Pending: containers not ready: main")


def test_a_failed_pod_is_degraded_with_its_exit_codes():
    exited = {"name": "main", "ready": False, "state": {"terminated": {"exitCode": 2}}}
    assert health_of(pod("Failed", exited)) == Health(
        "Degraded", "failed: container main exited with code 2")


def test_a_completed_pod_is_healthy():
    assert health_of(pod("Succeeded")) == Health("Healthy", "completed")


@pytest.mark.parametrize("phase, expected", [
    ("Bound", Health("Healthy", "bound")),
    ("Pending", Health("Progressing", "Pending: not bound yet")),
    ("Lost", Health("Degraded", "lost: its volume is gone")),
])
def test_a_claim_is_healthy_once_bound(phase, expected):
    assert health_of(obj("v1", "PersistentVolumeClaim", {}, {"phase": phase})) == expected


def test_a_load_balancer_is_healthy_once_it_has_an_address():
    waiting = obj("v1", "Service", {"type": "LoadBalancer"}, {"loadBalancer": {}})
    served = obj("v1", "Service", {"type": "LoadBalancer"},
                 {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}})
    assert health_of(waiting) == Health("Progressing", "waiting for a load-balancer address")
    assert health_of(served) == Health("Healthy", "load balancer at 192.0.2.10")


def test_a_cluster_ip_service_is_healthy_once_it_exists():
    assert health_of(obj("v1", "Service", {"type": "ClusterIP"}, {})).status == "Healthy"


def test_a_crd_is_healthy_once_established():
    established = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", {}, {
        "conditions": [{"type": "Established", "status": "True"}]})
    clash = obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", {}, {
        "conditions": [{"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
                        "message": '"WidgetList" is already in use'}]})
    assert health_of(established) == Health("Healthy", "established")
    assert health_of(clash) == Health(
        "Degraded", 'NamesAccepted is False: ListKindConflict: "WidgetList" is already in use')


def test_an_api_service_is_healthy_once_available():
    available = obj("apiregistration.k8s.io/v1", "APIService", {}, {
        "conditions": [{"type": "Available", "status": "True"}]})
    down = obj("apiregistration.k8s.io/v1", "APIService", {}, {
        "conditions": [{"type": "Available", "status": "False",
                        "reason": "FailedDiscoveryCheck"}]})
    assert health_of(available) == Health("Healthy", "available")
    assert health_of(down) == Health("Degraded", "Available is False: FailedDiscoveryCheck")
    assert health_of(obj("apiregistration.k8s.io/v1", "APIService", {}, {})) == Health(
        "Progressing", "not available yet")


@pytest.mark.parametrize("found", [
    obj("v1", "ConfigMap"),
    obj("example.com/v1", "Gizmo", {"size": 3}, {"phase": "Broken"}),
])
def test_any_other_kind_is_healthy_once_it_exists_even_one_never_heard_of(found):
    assert health_of(found) == Health("Healthy", "exists")


def test_an_object_being_deleted_is_progressing():
    leaving = obj("v1", "ConfigMap")
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert health_of(leaving) == Health("Progressing", "being deleted")


def test_the_rules_go_by_api_group_not_just_kind():
    other = obj("example.com/v1", "Deployment", {"replicas": 3}, {})
    assert health_of(other) == Health("Healthy", "exists")
