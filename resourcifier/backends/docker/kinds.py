"""The kinds the docker backend runs, the ones it knows but cannot run, and their names."""

from __future__ import annotations

from dmcommon.identity import ObjectKey, group_of

API_VERSIONS = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "PersistentVolumeClaim": "v1",
    "Service": "v1",
    "Pod": "v1",
    "ReplicationController": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
}
# Built-in Kubernetes kinds the backend knows of but cannot run: applying one is a
# per-resource failure, while a kind outside both lists is unknown (the request is bad).
KNOWN_UNSUPPORTED_KINDS = frozenset({
    "DaemonSet", "CronJob", "Ingress", "IngressClass", "NetworkPolicy", "ServiceAccount",
    "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "Endpoints", "EndpointSlice", "LimitRange", "ResourceQuota",
    "PersistentVolume", "StorageClass", "CustomResourceDefinition", "PodTemplate",
    "ControllerRevision", "PriorityClass", "Event", "Node",
})
WORKLOAD_KINDS = ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "ReplicationController", "Job")

# Names a GET may use for a kind, as kubectl accepts them: kind, plural, short name.
_KIND_ALIASES = {
    "ns": "Namespace", "namespaces": "Namespace",
    "cm": "ConfigMap", "configmaps": "ConfigMap",
    "secrets": "Secret",
    "pvc": "PersistentVolumeClaim", "persistentvolumeclaims": "PersistentVolumeClaim",
    "svc": "Service", "services": "Service",
    "po": "Pod", "pods": "Pod",
    "rc": "ReplicationController", "replicationcontrollers": "ReplicationController",
    "deploy": "Deployment", "deployments": "Deployment",
    "rs": "ReplicaSet", "replicasets": "ReplicaSet",
    "sts": "StatefulSet", "statefulsets": "StatefulSet",
    "jobs": "Job",
}


def canonical_kind(name: str) -> str | None:
    """The kind a GET path names (`Deployment`, `deployments`, `deploy`, `deployments.apps`)."""
    base, _, group = name.lower().partition(".")
    kind = next((kind for kind in API_VERSIONS if kind.lower() == base), None)
    kind = kind or _KIND_ALIASES.get(base)
    if kind is None or (group and group != group_of(API_VERSIONS[kind])):
        return None
    return kind


def key_for(kind: str, namespace: str, name: str) -> ObjectKey:
    """The key of an object of a kind the backend runs ("" as the namespace of a Namespace)."""
    return ObjectKey(group_of(API_VERSIONS[kind]), kind, namespace, name)
