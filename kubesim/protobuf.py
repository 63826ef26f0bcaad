"""Decoding of the Kubernetes protobuf bodies that kubectl's `create <kind> NAME` commands send.

kubectl's typed commands (`kubectl create namespace|configmap|secret|serviceaccount|service|
deployment|job|cronjob|role|rolebinding|clusterrole|clusterrolebinding|pdb|quota|ingress`)
post protobuf rather than JSON. The simulator decodes the fields those commands set (the
field numbers of Kubernetes' published .proto definitions) and answers in JSON, which
kubectl accepts. A body that uses a field outside this table is refused with 415 rather than
silently losing data; `kubectl create -f`/`apply -f` always send JSON.
"""

from __future__ import annotations

import base64

from .status import StatusError

MAGIC = b"k8s\x00"

# message -> {field number: (JSON name, type, repeated)}. A type is another message name or
# one of: str, bytes (base64 in JSON), int, bool, map (string -> string), bmap (string ->
# bytes), qmap (string -> Quantity), ios (IntOrString), qty (Quantity). An empty JSON name
# inlines the message into its parent.
SCHEMAS: dict[str, dict[int, tuple[str, str, bool]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta", False), 2: ("raw", "bytes", False),
                3: ("contentEncoding", "str", False), 4: ("contentType", "str", False)},
    "TypeMeta": {1: ("apiVersion", "str", False), 2: ("kind", "str", False)},
    "ObjectMeta": {1: ("name", "str", False), 2: ("generateName", "str", False),
                   3: ("namespace", "str", False), 11: ("labels", "map", False),
                   12: ("annotations", "map", False), 14: ("finalizers", "str", True)},
    "Time": {1: ("seconds", "int", False), 2: ("nanos", "int", False)},
    "Namespace": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "Empty", False),
                  3: ("status", "Empty", False)},
    "Empty": {},
    "ConfigMap": {1: ("metadata", "ObjectMeta", False), 2: ("data", "map", False),
                  3: ("binaryData", "bmap", False), 4: ("immutable", "bool", False)},
    "Secret": {1: ("metadata", "ObjectMeta", False), 2: ("data", "bmap", False),
               3: ("type", "str", False), 4: ("stringData", "map", False),
               5: ("immutable", "bool", False)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", False)},
    "Service": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "ServiceSpec", False),
                3: ("status", "Empty", False)},
    "ServiceSpec": {1: ("ports", "ServicePort", True), 2: ("selector", "map", False),
                    3: ("clusterIP", "str", False), 4: ("type", "str", False),
                    10: ("externalName", "str", False)},
    "ServicePort": {1: ("name", "str", False), 2: ("protocol", "str", False),
                    3: ("port", "int", False), 4: ("targetPort", "ios", False),
                    5: ("nodePort", "int", False)},
    "IntOrString": {1: ("type", "int", False), 2: ("intVal", "int", False),
                    3: ("strVal", "str", False)},
    "Quantity": {1: ("string", "str", False)},
    "LabelSelector": {1: ("matchLabels", "map", False),
                      2: ("matchExpressions", "LabelSelectorRequirement", True)},
    "LabelSelectorRequirement": {1: ("key", "str", False), 2: ("operator", "str", False),
                                 3: ("values", "str", True)},
    "Deployment": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "DeploymentSpec", False),
                   3: ("status", "Empty", False)},
    "DeploymentSpec": {1: ("replicas", "int", False), 2: ("selector", "LabelSelector", False),
                       3: ("template", "PodTemplateSpec", False),
                       4: ("strategy", "Empty", False)},
    "PodTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "PodSpec", False)},
    "PodSpec": {2: ("containers", "Container", True), 3: ("restartPolicy", "str", False)},
    "Container": {1: ("name", "str", False), 2: ("image", "str", False),
                  3: ("command", "str", True), 4: ("args", "str", True),
                  6: ("ports", "ContainerPort", True), 8: ("resources", "Empty", False)},
    "ContainerPort": {1: ("name", "str", False), 2: ("hostPort", "int", False),
                      3: ("containerPort", "int", False), 4: ("protocol", "str", False)},
    "Job": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "JobSpec", False),
            3: ("status", "Empty", False)},
    "JobSpec": {6: ("template", "PodTemplateSpec", False)},
    "CronJob": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "CronJobSpec", False),
                3: ("status", "Empty", False)},
    "CronJobSpec": {1: ("schedule", "str", False), 5: ("jobTemplate", "JobTemplateSpec", False)},
    "JobTemplateSpec": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "JobSpec", False)},
    "Role": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "ClusterRole": {1: ("metadata", "ObjectMeta", False), 2: ("rules", "PolicyRule", True)},
    "PolicyRule": {1: ("verbs", "str", True), 2: ("apiGroups", "str", True),
                   3: ("resources", "str", True), 4: ("resourceNames", "str", True),
                   5: ("nonResourceURLs", "str", True)},
    "RoleBinding": {1: ("metadata", "ObjectMeta", False), 2: ("subjects", "Subject", True),
                    3: ("roleRef", "RoleRef", False)},
    "ClusterRoleBinding": {1: ("metadata", "ObjectMeta", False),
                           2: ("subjects", "Subject", True), 3: ("roleRef", "RoleRef", False)},
    "Subject": {1: ("kind", "str", False), 2: ("apiGroup", "str", False),
                3: ("name", "str", False), 4: ("namespace", "str", False)},
    "RoleRef": {1: ("apiGroup", "str", False), 2: ("kind", "str", False),
                3: ("name", "str", False)},
    "PodDisruptionBudget": {1: ("metadata", "ObjectMeta", False),
                            2: ("spec", "PodDisruptionBudgetSpec", False),
                            3: ("status", "Empty", False)},
    "PodDisruptionBudgetSpec": {1: ("minAvailable", "ios", False),
                                2: ("selector", "LabelSelector", False),
                                3: ("maxUnavailable", "ios", False)},
    "ResourceQuota": {1: ("metadata", "ObjectMeta", False),
                      2: ("spec", "ResourceQuotaSpec", False), 3: ("status", "Empty", False)},
    "ResourceQuotaSpec": {1: ("hard", "qmap", False)},
    "Ingress": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "IngressSpec", False),
                3: ("status", "Empty", False)},
    "IngressSpec": {1: ("defaultBackend", "IngressBackend", False),
                    2: ("tls", "IngressTLS", True), 3: ("rules", "IngressRule", True),
                    4: ("ingressClassName", "str", False)},
    "IngressTLS": {1: ("hosts", "str", True), 2: ("secretName", "str", False)},
    "IngressRule": {1: ("host", "str", False), 2: ("", "IngressRuleValue", False)},
    "IngressRuleValue": {1: ("http", "HTTPIngressRuleValue", False)},
    "HTTPIngressRuleValue": {1: ("paths", "HTTPIngressPath", True)},
    "HTTPIngressPath": {1: ("path", "str", False), 2: ("backend", "IngressBackend", False),
                        3: ("pathType", "str", False)},
    "IngressBackend": {4: ("service", "IngressServiceBackend", False)},
    "IngressServiceBackend": {1: ("name", "str", False), 2: ("port", "ServiceBackendPort", False)},
    "ServiceBackendPort": {1: ("name", "str", False), 2: ("number", "int", False)},
}


def _unsupported(why: str) -> StatusError:
    return StatusError(
        415, f"the simulator cannot decode this protobuf body ({why}); send JSON instead, e.g. "
        "kubectl create -f FILE", "UnsupportedMediaType")


def _varint(data: bytes, index: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if index >= len(data) or shift > 63:
            raise _unsupported("truncated varint")
        byte = data[index]
        index += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, index


def _fields(data: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, raw value) for every field of one message."""
    fields, index = [], 0
    while index < len(data):
        key, index = _varint(data, index)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, index = _varint(data, index)
        elif wire == 2:
            length, index = _varint(data, index)
            value, index = data[index:index + length], index + length
            if index > len(data):
                raise _unsupported("truncated field")
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, index = data[index:index + size], index + size
            if index > len(data):
                raise _unsupported("truncated field")
        else:
            raise _unsupported(f"wire type {wire}")
        fields.append((number, wire, value))
    return fields


def _is_empty(wire: int, value: object) -> bool:
    """Zero, empty, or a nested message whose fields are all empty (gogo writes those out)."""
    if value in (0, b""):
        return True
    if wire != 2:
        return False
    try:
        return all(_is_empty(w, v) for _, w, v in _fields(value))
    except StatusError:
        return False


def _scalar(kind: str, value: object) -> object:
    if kind == "str":
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return value - (1 << 64) if isinstance(value, int) and value >= 1 << 63 else value
    raise _unsupported(f"type {kind}")


def _map_entry(kind: str, data: bytes) -> tuple[str, object]:
    entry = {number: value for number, _, value in _fields(data)}
    key = entry.get(1, b"").decode("utf-8")
    raw = entry.get(2, b"")
    if kind == "bmap":
        return key, base64.b64encode(raw).decode()
    if kind == "qmap":
        return key, decode_message("Quantity", raw).get("string", "")
    return key, raw.decode("utf-8")


def decode_message(name: str, data: bytes) -> dict:
    """One message as its JSON object, leaving out empty singular fields (JSON's omitempty)."""
    schema = SCHEMAS[name]
    result: dict = {}
    for number, wire, value in _fields(data):
        if number not in schema:
            if _is_empty(wire, value):
                continue
            raise _unsupported(f"field {number} of {name}")
        field, kind, repeated = schema[number]
        if kind in ("map", "bmap", "qmap"):
            key, item = _map_entry(kind, value)
            result.setdefault(field, {})[key] = item
            continue
        if kind == "ios":
            parsed = decode_message("IntOrString", value)
            item = parsed.get("strVal", "") if parsed.get("type") == 1 else parsed.get("intVal", 0)
        elif kind in SCHEMAS:
            item = decode_message(kind, value)
            if not field:
                result.update(item)
                continue
            if not item and not repeated:
                continue
        else:
            item = _scalar(kind, value)
            if not repeated and value in (0, b""):
                continue
        if repeated:
            result.setdefault(field, []).append(item)
        else:
            result[field] = item
    return result


def decode(body: bytes) -> dict:
    """A `k8s\\0`-framed protobuf object as the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise _unsupported("missing the k8s protobuf frame")
    envelope = decode_message("Unknown", body[len(MAGIC):])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in SCHEMAS or envelope.get("contentEncoding"):
        raise _unsupported(f"kind {kind or 'unknown'}")
    obj = decode_message(kind, base64.b64decode(envelope.get("raw", "")))
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}
