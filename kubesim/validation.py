"""Basic object validation: the checks the real API server would fail with 422 Invalid.

The simulator validates names, labels and the handful of spec rules that catch real
mistakes in configurations (selectors that do not match their template, containers
without an image, service ports without a port, ...). It does not validate every field.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from dmcommon.names import DNS_LABEL_MAX, DNS_SUBDOMAIN_MAX, is_dns_label, is_dns_subdomain

from .catalog import ResourceType

Causes = list[tuple[str, str]]

# Service names follow DNS-1035, a stricter rule than dmcommon.names' RFC 1123 labels.
_LABEL_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")

SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
LABEL_1123_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
LABEL_1035_RULE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
WORKLOAD_KINDS = frozenset({"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"})
RBAC_KINDS = frozenset({"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"})


def _value(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def invalid_value(path: str, value: object, why: str) -> tuple[str, str]:
    return path, f"Invalid value: {_value(value)}: {why}"


def required(path: str) -> tuple[str, str]:
    return path, "Required value"


def _is_dns_1035_label(name: str) -> bool:
    return _LABEL_1035.fullmatch(name) is not None


def name_causes(resource_type: ResourceType, name: object) -> Causes:
    """Problems with metadata.name for this kind (each kind has its own naming rule)."""
    if not isinstance(name, str) or not name:
        return [("metadata.name", "Required value: name or generateName is required")]
    kind = resource_type.kind
    if kind in RBAC_KINDS:
        if name in (".", "..") or "/" in name or "%" in name:
            return [invalid_value("metadata.name", name, "may not contain '/' or '%'")]
        return []
    if kind == "Namespace":
        is_valid, rule, limit = is_dns_label, LABEL_1123_RULE, DNS_LABEL_MAX
    elif kind == "Service":
        is_valid, rule, limit = _is_dns_1035_label, LABEL_1035_RULE, DNS_LABEL_MAX
    else:
        is_valid, rule, limit = is_dns_subdomain, SUBDOMAIN_RULE, DNS_SUBDOMAIN_MAX
    if len(name) > limit:
        return [invalid_value("metadata.name", name, f"must be no more than {limit} characters")]
    if not is_valid(name):
        return [invalid_value("metadata.name", name, rule)]
    return []


def _label_key_ok(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and not is_dns_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def label_causes(path: str, labels: object) -> Causes:
    if labels is None:
        return []
    if not isinstance(labels, dict):
        return [invalid_value(path, labels, "must be a map of strings")]
    causes = []
    for key, value in labels.items():
        if not _label_key_ok(str(key)):
            causes.append(invalid_value(path, key, "name part must consist of alphanumeric "
                                        "characters, '-', '_' or '.', at most 63 characters"))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(invalid_value(path, value, "a valid label must be an empty string "
                                        "or consist of alphanumeric characters, '-', '_' or '.' "
                                        "(at most 63 characters)"))
    return causes


def metadata_causes(resource_type: ResourceType, metadata: dict) -> Causes:
    causes = name_causes(resource_type, metadata.get("name"))
    causes += label_causes("metadata.labels", metadata.get("labels"))
    annotations = metadata.get("annotations")
    if annotations is not None and (
        not isinstance(annotations, dict)
        or not all(isinstance(v, str) for v in annotations.values())
    ):
        causes.append(invalid_value("metadata.annotations", annotations,
                                    "must be a map of strings"))
    return causes


def _port_causes(path: str, number: object) -> Causes:
    if isinstance(number, int) and 0 < number < 65536:
        return []
    return [invalid_value(path, number, "must be between 1 and 65535, inclusive")]


def _containers_causes(path: str, pod_spec: object) -> Causes:
    if not isinstance(pod_spec, dict):
        return [required(path)]
    containers = pod_spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [required(f"{path}.containers")]
    causes: Causes = []
    seen = set()
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not isinstance(container, dict):
            causes.append(invalid_value(where, container, "must be an object"))
            continue
        name = container.get("name")
        if not name:
            causes.append(required(f"{where}.name"))
        elif not is_dns_label(name):
            causes.append(invalid_value(f"{where}.name", name, LABEL_1123_RULE))
        elif name in seen:
            causes.append((f"{where}.name", f'Duplicate value: "{name}"'))
        seen.add(name)
        if not container.get("image"):
            causes.append(required(f"{where}.image"))
        for port_index, port in enumerate(container.get("ports") or []):
            number = port.get("containerPort") if isinstance(port, dict) else None
            causes += _port_causes(f"{where}.ports[{port_index}].containerPort", number)
    return causes


def selector_matches(selector: dict, labels: dict) -> bool:
    """Whether a LabelSelector (matchLabels and matchExpressions) selects these labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _workload_causes(kind: str, spec: dict) -> Causes:
    template = spec.get("template")
    if not isinstance(template, dict):
        return [required("spec.template")]
    labels = (template.get("metadata") or {}).get("labels") or {}
    causes = _containers_causes("spec.template.spec", template.get("spec"))
    causes += label_causes("spec.template.metadata.labels", labels)
    selector = spec.get("selector")
    if kind == "ReplicationController":
        if selector and not all(labels.get(k) == v for k, v in selector.items()):
            causes.append(invalid_value("spec.template.metadata.labels", labels,
                                        "`selector` does not match template `labels`"))
        return causes
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        causes.append(required("spec.selector"))
    elif not selector_matches(selector, labels):
        causes.append(invalid_value("spec.template.metadata.labels", labels,
                                    "`selector` does not match template `labels`"))
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or replicas < 0):
        causes.append(invalid_value("spec.replicas", replicas,
                                    "must be greater than or equal to 0"))
    return causes


def _service_causes(spec: dict) -> Causes:
    causes: Causes = []
    service_type = spec.get("type", "ClusterIP")
    if service_type not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(("spec.type", f'Unsupported value: "{service_type}": supported values: '
                       '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"'))
    ports = spec.get("ports") or []
    if not ports and service_type != "ExternalName" and spec.get("clusterIP") != "None":
        causes.append(required("spec.ports"))
    for index, port in enumerate(ports):
        where = f"spec.ports[{index}]"
        if not isinstance(port, dict):
            causes.append(invalid_value(where, port, "must be an object"))
            continue
        number = port.get("port")
        if number is None:
            causes.append(required(f"{where}.port"))
        else:
            causes += _port_causes(f"{where}.port", number)
        if len(ports) > 1 and not port.get("name"):
            causes.append(required(f"{where}.name"))
    return causes


def _job_causes(path: str, spec: object) -> Causes:
    if not isinstance(spec, dict):
        return [required(path)]
    template = spec.get("template")
    if not isinstance(template, dict):
        return [required(f"{path}.template")]
    pod_spec = template.get("spec")
    causes = _containers_causes(f"{path}.template.spec", pod_spec)
    policy = (pod_spec or {}).get("restartPolicy") if isinstance(pod_spec, dict) else None
    if policy not in ("Never", "OnFailure"):
        causes.append((f"{path}.template.spec.restartPolicy",
                       'Required value: valid values: "OnFailure", "Never" '
                       f"(got {_value(policy)})"))
    return causes


def _binding_causes(obj: dict) -> Causes:
    role_ref = obj.get("roleRef")
    if not isinstance(role_ref, dict):
        return [required("roleRef")]
    causes = [required(f"roleRef.{key}") for key in ("kind", "name") if not role_ref.get(key)]
    for index, subject in enumerate(obj.get("subjects") or []):
        if not isinstance(subject, dict) or not subject.get("kind") or not subject.get("name"):
            causes.append(required(f"subjects[{index}]"))
    return causes


def _rules_causes(rules: object) -> Causes:
    causes: Causes = []
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict) or not rule.get("verbs"):
            causes.append(required(f"rules[{index}].verbs"))
    return causes


def _crd_causes(obj: dict) -> Causes:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required("spec")]
    names = spec.get("names") or {}
    causes: Causes = [] if spec.get("group") else [required("spec.group")]
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append(required(f"spec.names.{key}"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", 'Unsupported value: supported values: "Cluster", '
                       '"Namespaced"'))
    versions = spec.get("versions") or []
    if not versions:
        causes.append(required("spec.versions"))
    elif sum(1 for v in versions if isinstance(v, dict) and v.get("storage")) != 1:
        causes.append(invalid_value("spec.versions", "",
                                    "must have exactly one version marked as storage version"))
    for index, version in enumerate(versions):
        if not isinstance(version, dict) or not version.get("name"):
            causes.append(required(f"spec.versions[{index}].name"))
    expected = f"{names.get('plural')}.{spec.get('group')}"
    name = (obj.get("metadata") or {}).get("name")
    if not causes and name != expected:
        causes.append(invalid_value("metadata.name", name,
                                    f"must be spec.names.plural+\".\"+spec.group ({expected})"))
    return causes


# Keys a Secret of a type must have (from data or stringData), as the API server checks.
_SECRET_KEYS = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
}


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _secret_causes(secret: dict) -> Causes:
    data = secret.get("data") or {}
    causes = [invalid_value(f"data[{key}]", "<secret contents redacted>",
                            "must be base64-encoded") for key, value in data.items()
              if isinstance(value, str) and not _is_base64(value)]
    keys = set(data) | set(secret.get("stringData") or {})
    return causes + [required(f"data[{key}]")
                     for key in _SECRET_KEYS.get(secret.get("type"), ()) if key not in keys]


def spec_causes(kind: str, obj: dict) -> Causes:
    """Kind-specific rules; every problem found, so one 422 reports them all."""
    spec = obj.get("spec")
    if kind in WORKLOAD_KINDS or kind == "ReplicationController":
        return _workload_causes(kind, spec) if isinstance(spec, dict) else [required("spec")]
    if kind == "Pod":
        return _containers_causes("spec", spec)
    if kind == "Service":
        return _service_causes(spec if isinstance(spec, dict) else {})
    if kind == "Job":
        return _job_causes("spec", spec)
    if kind == "CronJob":
        if not isinstance(spec, dict):
            return [required("spec")]
        causes = [] if spec.get("schedule") else [required("spec.schedule")]
        job_template = spec.get("jobTemplate") or {}
        return causes + _job_causes("spec.jobTemplate.spec", job_template.get("spec"))
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return _binding_causes(obj)
    if kind in ("Role", "ClusterRole"):
        return _rules_causes(obj.get("rules"))
    if kind in ("ConfigMap", "Secret"):
        causes = [invalid_value(f"data[{key}]", key, "a valid config key must consist of "
                                "alphanumeric characters, '-', '_' or '.'")
                  for key in list(obj.get("data") or {}) + list(obj.get("stringData") or {})
                  if not _CONFIG_KEY.match(str(key))]
        return causes + (_secret_causes(obj) if kind == "Secret" else [])
    if kind == "HorizontalPodAutoscaler":
        if not isinstance(spec, dict):
            return [required("spec")]
        return [required(f"spec.{key}") for key in ("scaleTargetRef", "maxReplicas")
                if not spec.get(key)]
    if kind == "CustomResourceDefinition":
        return _crd_causes(obj)
    return []


# Top-level fields whose JSON type is fixed for every kind that has them.
_SHAPES = {"spec": dict, "status": dict, "data": dict, "stringData": dict, "binaryData": dict,
           "rules": list, "subjects": list, "roleRef": dict, "secrets": list,
           "imagePullSecrets": list, "subsets": list}


def shape_causes(resource_type: ResourceType, obj: dict) -> Causes:
    """Known top-level fields of the wrong JSON type (a list where an object belongs, ...)."""
    if resource_type.fields is None:
        return []
    causes = []
    for name, shape in _SHAPES.items():
        value = obj.get(name)
        if value is not None and not isinstance(value, shape):
            expected = "an object" if shape is dict else "a list"
            causes.append(invalid_value(name, value, f"must be {expected}"))
    for name in ("data", "stringData"):
        if isinstance(obj.get(name), dict) and resource_type.kind in ("ConfigMap", "Secret"):
            causes += [invalid_value(f"{name}[{key}]", value, "must be a string")
                       for key, value in obj[name].items() if not isinstance(value, str)]
    return causes


def validate(resource_type: ResourceType, obj: dict) -> Causes:
    """All 422-worthy problems of `obj` (metadata first, then the kind's own rules).

    Call it on objects whose top-level shapes passed `shape_causes`: wrong JSON types are a
    400 (the API server cannot decode them), not a 422."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        return [required("metadata")]
    return metadata_causes(resource_type, metadata) + spec_causes(resource_type.kind, obj)
