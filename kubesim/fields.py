"""Which fields a kind has, for `fieldValidation` (unknown fields are errors, warnings or dropped).

Every kind's top level and `metadata` are checked; so are the specs of the kinds where a
typo is most likely and most costly: workloads, their pod templates and containers, and
Services. Deeper objects (probes, volumes, affinity, ...) are not checked.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalog import COMMON_TOP_LEVEL, ResourceType

# A schema maps a field name to the schema of its value: None (anything), another schema
# (an object), or a one-element list holding the schema of the list's items.
Schema = dict

METADATA = dict.fromkeys((
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
))
CONTAINER = dict.fromkeys((
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources",
    "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe",
    "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
    "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin", "stdinOnce",
    "tty",
))
POD_SPEC = {
    **dict.fromkeys((
        "volumes", "ephemeralContainers", "restartPolicy", "terminationGracePeriodSeconds",
        "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName",
        "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID",
        "hostIPC", "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname",
        "subdomain", "affinity", "schedulerName", "tolerations", "hostAliases",
        "priorityClassName", "priority", "dnsConfig", "readinessGates", "runtimeClassName",
        "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints",
        "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims",
        "resources",
    )),
    "containers": [CONTAINER],
    "initContainers": [CONTAINER],
}
POD_TEMPLATE = {"metadata": METADATA, "spec": POD_SPEC}
DEPLOYMENT_SPEC = {
    **dict.fromkeys(("replicas", "selector", "strategy", "minReadySeconds",
                     "revisionHistoryLimit", "paused", "progressDeadlineSeconds")),
    "template": POD_TEMPLATE,
}
REPLICA_SET_SPEC = {
    **dict.fromkeys(("replicas", "minReadySeconds", "selector")), "template": POD_TEMPLATE,
}
STATEFUL_SET_SPEC = {
    **dict.fromkeys((
        "replicas", "selector", "volumeClaimTemplates", "serviceName", "podManagementPolicy",
        "updateStrategy", "revisionHistoryLimit", "minReadySeconds",
        "persistentVolumeClaimRetentionPolicy", "ordinals",
    )),
    "template": POD_TEMPLATE,
}
DAEMON_SET_SPEC = {
    **dict.fromkeys(("selector", "updateStrategy", "minReadySeconds", "revisionHistoryLimit")),
    "template": POD_TEMPLATE,
}
SERVICE_SPEC = dict.fromkeys((
    "ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
    "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
    "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies",
    "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass",
    "internalTrafficPolicy", "trafficDistribution",
))
SPECS: dict[str, Schema] = {
    "Deployment": DEPLOYMENT_SPEC,
    "ReplicaSet": REPLICA_SET_SPEC,
    "StatefulSet": STATEFUL_SET_SPEC,
    "DaemonSet": DAEMON_SET_SPEC,
    "Pod": POD_SPEC,
    "Service": SERVICE_SPEC,
}


@dataclass(frozen=True)
class UnknownField:
    """A field the kind does not have: where it is shown (`spec.replica`) and where it lives."""

    path: str
    parent: dict
    key: str

    def drop(self) -> None:
        self.parent.pop(self.key, None)


def _unknown_in(value: object, schema: Schema, path: str) -> list[UnknownField]:
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key not in schema:
            found.append(UnknownField(where, value, key))
            continue
        sub = schema[key]
        if isinstance(sub, dict):
            found += _unknown_in(item, sub, where)
        elif isinstance(sub, list) and isinstance(item, list):
            for index, element in enumerate(item):
                found += _unknown_in(element, sub[0], f"{where}[{index}]")
    return found


def unknown_fields(resource_type: ResourceType, obj: dict) -> list[UnknownField]:
    """The fields of `obj` its kind does not have (custom resources: metadata only)."""
    if resource_type.fields is None:
        schema: Schema = dict.fromkeys(obj)
    else:
        schema = dict.fromkeys(COMMON_TOP_LEVEL | resource_type.fields)
        if resource_type.kind in SPECS:
            schema["spec"] = SPECS[resource_type.kind]
    schema["metadata"] = METADATA
    return _unknown_in(obj, schema, "")
