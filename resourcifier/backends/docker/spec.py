"""What the docker backend understands of a Kubernetes object, checked before anything runs.

Every field the backend honours is listed here; any other field is reported as
"not supported by the docker backend: <path>" so that nothing is silently dropped.
This module never talks to the engine.
"""

from __future__ import annotations

from typing import Any, Collection

from dmcommon.identity import ObjectKey, object_key
from dmcommon.names import is_dns_subdomain
from resourcifier.backends.docker.kinds import API_VERSIONS

UNSUPPORTED = "not supported by the docker backend"

_METADATA_FIELDS = {"name", "namespace", "labels", "annotations"}
_POD_SPEC_FIELDS = {
    "containers", "restartPolicy", "volumes", "terminationGracePeriodSeconds", "dnsPolicy",
}
_CONTAINER_FIELDS = {
    "name", "image", "command", "args", "env", "envFrom", "ports", "volumeMounts",
    "workingDir", "imagePullPolicy", "resources", "stdin", "tty",
}
_WORKLOAD_SPEC_FIELDS = {
    "Deployment": {
        "replicas", "selector", "template", "strategy", "revisionHistoryLimit",
        "progressDeadlineSeconds",
    },
    "ReplicaSet": {"replicas", "selector", "template"},
    "ReplicationController": {"replicas", "selector", "template"},
    "StatefulSet": {
        "replicas", "selector", "template", "serviceName", "volumeClaimTemplates",
        "podManagementPolicy", "updateStrategy", "revisionHistoryLimit",
    },
    "Job": {"template", "backoffLimit", "completions", "parallelism", "selector",
            "manualSelector"},
}
_SERVICE_SPEC_FIELDS = {"selector", "ports", "type", "clusterIP", "sessionAffinity"}
_SERVICE_PORT_FIELDS = {"name", "port", "targetPort", "protocol", "nodePort"}
PUBLISHING_SERVICE_TYPES = ("NodePort", "LoadBalancer")


class SpecError(Exception):
    """The object cannot be run by the docker backend; the message says why."""


def unsupported(path: str) -> SpecError:
    return SpecError(f"{UNSUPPORTED}: {path}")


def identify(obj: Any, default_namespace: str) -> ObjectKey:
    """The object's key on the engine, after checking that the backend can run its kind
    and that its metadata is usable; raise SpecError otherwise.

    The key is the shared one (`dmcommon.identity.object_key`), except that a Namespace
    lives in no namespace.
    """
    if not isinstance(obj, dict):
        raise SpecError("a resource's properties must be an object")
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise SpecError("kind is required")
    if kind not in API_VERSIONS:
        raise unsupported(f"kind {kind}")
    if obj.get("apiVersion") != API_VERSIONS[kind]:
        raise SpecError(
            f"no kind {kind} in version {obj.get('apiVersion')!r}; expected {API_VERSIONS[kind]}"
        )
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        raise SpecError("metadata.name is required")
    _check_dns_name(metadata["name"], "metadata.name")
    _check_fields(metadata, _METADATA_FIELDS, "metadata")
    for field_name in ("labels", "annotations"):
        _check_string_map(metadata.get(field_name), f"metadata.{field_name}")
    key = object_key(obj, default_namespace)
    if kind == "Namespace":
        return key._replace(namespace="")
    _check_dns_name(key.namespace, "metadata.namespace")
    return key


def check_object(obj: dict[str, Any]) -> None:
    """Raise SpecError naming the first field the backend cannot honour or that is invalid."""
    kind = obj["kind"]
    known = {"apiVersion", "kind", "metadata"}
    if kind in ("ConfigMap", "Secret"):
        _check_fields(obj, known | {"data", "stringData", "type", "immutable"}, "")
        _check_string_map(obj.get("data"), "data")
        _check_string_map(obj.get("stringData"), "stringData")
        if kind == "ConfigMap" and "stringData" in obj:
            raise unsupported("stringData")
        return
    if kind == "Namespace":
        _check_fields(obj, known | {"spec"}, "")
        return
    _check_fields(obj, known | {"spec"}, "")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise SpecError("spec is required")
    if kind == "PersistentVolumeClaim":
        _check_fields(spec, {"accessModes", "resources", "storageClassName", "volumeMode"},
                      "spec")
    elif kind == "Service":
        _check_service(spec)
    elif kind == "Pod":
        check_pod_spec(spec, "spec")
    else:
        _check_workload(kind, spec, obj["metadata"])


def _check_service(spec: dict[str, Any]) -> None:
    _check_fields(spec, _SERVICE_SPEC_FIELDS, "spec")
    service_type = spec.get("type", "ClusterIP")
    if service_type not in ("ClusterIP", *PUBLISHING_SERVICE_TYPES):
        raise unsupported(f"spec.type {service_type}")
    if spec.get("clusterIP") not in (None, "", "None"):
        raise unsupported("spec.clusterIP")
    if spec.get("sessionAffinity") not in (None, "None"):
        raise unsupported("spec.sessionAffinity")
    _check_string_map(spec.get("selector"), "spec.selector")
    ports = spec.get("ports", [])
    if not isinstance(ports, list):
        raise SpecError("spec.ports must be a list")
    for index, port in enumerate(ports):
        path = f"spec.ports[{index}]"
        if not isinstance(port, dict):
            raise SpecError(f"{path} must be an object")
        _check_fields(port, _SERVICE_PORT_FIELDS, path)
        number = port.get("port")
        if not _is_port(number):
            raise SpecError(f"{path}.port must be a number from 1 to 65535")
        target = port.get("targetPort", number)
        if not _is_port(target):
            # A named port or a number as text needs a proxy to translate.
            raise unsupported(f"{path}.targetPort {target!r}")
        if target != number:
            # Clients reach the pod's own port through the alias; no proxy remaps it.
            raise unsupported(f"{path}.targetPort different from port")
        if port.get("protocol", "TCP") not in ("TCP", "UDP"):
            raise unsupported(f"{path}.protocol {port['protocol']}")
        if "nodePort" in port:
            if service_type not in PUBLISHING_SERVICE_TYPES:
                raise SpecError(f"{path}.nodePort is only allowed for NodePort or LoadBalancer")
            if not _is_port(port["nodePort"]):
                raise SpecError(f"{path}.nodePort must be a number from 1 to 65535")


def _check_workload(kind: str, spec: dict[str, Any], metadata: dict[str, Any]) -> None:
    _check_fields(spec, _WORKLOAD_SPEC_FIELDS[kind], "spec")
    replicas = spec.get("replicas", 1)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise SpecError("spec.replicas must be a whole number of 0 or more")
    template = spec.get("template")
    if not isinstance(template, dict):
        raise SpecError("spec.template is required")
    _check_fields(template, {"metadata", "spec"}, "spec.template")
    template_metadata = template.get("metadata") or {}
    _check_fields(template_metadata, {"labels", "annotations", "name"}, "spec.template.metadata")
    _check_string_map(template_metadata.get("labels"), "spec.template.metadata.labels")
    labels = template_metadata.get("labels") or {}
    pod_spec = template.get("spec")
    if not isinstance(pod_spec, dict):
        raise SpecError("spec.template.spec is required")
    claims = set()
    for index, claim in enumerate(spec.get("volumeClaimTemplates") or []):
        if not isinstance(claim, dict) or not isinstance(
            (claim.get("metadata") or {}).get("name"), str
        ):
            raise SpecError(f"spec.volumeClaimTemplates[{index}].metadata.name is required")
        claims.add(claim["metadata"]["name"])
    check_pod_spec(pod_spec, "spec.template.spec", claims)
    selector = spec.get("selector")
    if kind == "Job":
        for field_name in ("completions", "parallelism"):
            if spec.get(field_name, 1) != 1:
                raise unsupported(f"spec.{field_name} other than 1")
        if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
            raise SpecError("spec.template.spec.restartPolicy must be Never or OnFailure")
        return
    if pod_spec.get("restartPolicy", "Always") != "Always":
        raise SpecError("spec.template.spec.restartPolicy must be Always")
    if kind == "ReplicationController":
        selector = selector or labels
        _check_string_map(selector, "spec.selector")
        wanted = selector
    else:
        if not isinstance(selector, dict):
            raise SpecError("spec.selector is required")
        _check_fields(selector, {"matchLabels"}, "spec.selector")
        wanted = selector.get("matchLabels") or {}
        _check_string_map(wanted, "spec.selector.matchLabels")
    if not wanted or any(labels.get(key) != value for key, value in wanted.items()):
        raise SpecError(
            f"spec.selector does not match spec.template.metadata.labels of {metadata['name']}"
        )


def check_pod_spec(spec: dict[str, Any], path: str, claims: Collection[str] = ()) -> None:
    """Raise SpecError for a pod spec field the backend cannot honour.

    `claims` are a StatefulSet's volumeClaimTemplates, which containers mount by name.
    """
    _check_fields(spec, _POD_SPEC_FIELDS, path)
    if spec.get("dnsPolicy", "ClusterFirst") != "ClusterFirst":
        raise unsupported(f"{path}.dnsPolicy {spec['dnsPolicy']}")
    if spec.get("restartPolicy", "Always") not in ("Always", "OnFailure", "Never"):
        raise SpecError(f"{path}.restartPolicy must be Always, OnFailure or Never")
    volumes = spec.get("volumes") or []
    volume_names = set(claims)
    for index, volume in enumerate(volumes):
        volume_path = f"{path}.volumes[{index}]"
        if not isinstance(volume, dict) or not isinstance(volume.get("name"), str):
            raise SpecError(f"{volume_path}.name is required")
        sources = set(volume) - {"name"}
        supported = {"configMap", "secret", "persistentVolumeClaim", "emptyDir"}
        for source in sorted(sources - supported):
            raise unsupported(f"{volume_path}.{source}")
        if len(sources) != 1:
            raise SpecError(f"{volume_path} needs exactly one volume source")
        volume_names.add(volume["name"])
        _check_volume_source(volume, volume_path)
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        raise SpecError(f"{path}.containers needs at least one container")
    names = set()
    for index, container in enumerate(containers):
        container_path = f"{path}.containers[{index}]"
        if not isinstance(container, dict):
            raise SpecError(f"{container_path} must be an object")
        _check_fields(container, _CONTAINER_FIELDS, container_path)
        for required in ("name", "image"):
            if not isinstance(container.get(required), str) or not container[required]:
                raise SpecError(f"{container_path}.{required} is required")
        _check_dns_name(container["name"], f"{container_path}.name")
        if container["name"] in names:
            raise SpecError(f"{container_path}.name {container['name']!r} is used twice")
        names.add(container["name"])
        _check_container(container, container_path, volume_names)


def _check_volume_source(volume: dict[str, Any], path: str) -> None:
    if "configMap" in volume or "secret" in volume:
        source_name = "configMap" if "configMap" in volume else "secret"
        source = volume[source_name] or {}
        name_field = "name" if source_name == "configMap" else "secretName"
        _check_fields(source, {name_field, "items", "defaultMode", "optional"},
                      f"{path}.{source_name}")
        if not isinstance(source.get(name_field), str):
            raise SpecError(f"{path}.{source_name}.{name_field} is required")
        for item_index, item in enumerate(source.get("items") or []):
            item_path = f"{path}.{source_name}.items[{item_index}]"
            _check_fields(item, {"key", "path", "mode"}, item_path)
            if not isinstance(item.get("key"), str) or not isinstance(item.get("path"), str):
                raise SpecError(f"{item_path} needs key and path")
            if item["path"].startswith("/") or ".." in item["path"].split("/"):
                raise SpecError(f"{item_path}.path must be relative, without '..'")
    elif "persistentVolumeClaim" in volume:
        claim = volume["persistentVolumeClaim"] or {}
        _check_fields(claim, {"claimName", "readOnly"}, f"{path}.persistentVolumeClaim")
        if not isinstance(claim.get("claimName"), str):
            raise SpecError(f"{path}.persistentVolumeClaim.claimName is required")
    else:
        empty_dir = volume["emptyDir"] or {}
        _check_fields(empty_dir, {"medium", "sizeLimit"}, f"{path}.emptyDir")
        if empty_dir.get("medium", "") not in ("", "Memory"):
            raise unsupported(f"{path}.emptyDir.medium {empty_dir['medium']}")


def _check_container(container: dict[str, Any], path: str, volume_names: set[str]) -> None:
    for field_name in ("command", "args"):
        value = container.get(field_name)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(item, str) for item in value)
        ):
            raise SpecError(f"{path}.{field_name} must be a list of strings")
    if container.get("imagePullPolicy", "IfNotPresent") not in ("Always", "IfNotPresent", "Never"):
        raise SpecError(f"{path}.imagePullPolicy must be Always, IfNotPresent or Never")
    for index, variable in enumerate(container.get("env") or []):
        _check_env(variable, f"{path}.env[{index}]")
    for index, source in enumerate(container.get("envFrom") or []):
        source_path = f"{path}.envFrom[{index}]"
        _check_fields(source, {"configMapRef", "secretRef", "prefix"}, source_path)
        refs = [key for key in ("configMapRef", "secretRef") if key in source]
        if len(refs) != 1 or not isinstance((source[refs[0]] or {}).get("name"), str):
            raise SpecError(f"{source_path} needs configMapRef or secretRef with a name")
        _check_fields(source[refs[0]], {"name", "optional"}, f"{source_path}.{refs[0]}")
    for index, port in enumerate(container.get("ports") or []):
        port_path = f"{path}.ports[{index}]"
        _check_fields(port, {"containerPort", "name", "protocol"}, port_path)
        if not _is_port(port.get("containerPort")):
            raise SpecError(f"{port_path}.containerPort must be a number from 1 to 65535")
    for index, mount in enumerate(container.get("volumeMounts") or []):
        mount_path = f"{path}.volumeMounts[{index}]"
        _check_fields(mount, {"name", "mountPath", "readOnly"}, mount_path)
        if mount.get("name") not in volume_names:
            raise SpecError(f"{mount_path}.name {mount.get('name')!r} is not a volume of the pod")
        target = mount.get("mountPath")
        if not isinstance(target, str) or not target.startswith("/"):
            raise SpecError(f"{mount_path}.mountPath must be an absolute path")
    resources = container.get("resources") or {}
    _check_fields(resources, {"limits", "requests"}, f"{path}.resources")
    for section in ("limits", "requests"):
        _check_fields(resources.get(section) or {}, {"cpu", "memory"},
                      f"{path}.resources.{section}")
    for key, value in (resources.get("limits") or {}).items():
        try:
            (parse_cpu if key == "cpu" else parse_memory)(value)
        except ValueError:
            raise SpecError(f"{path}.resources.limits.{key}: invalid quantity {value!r}") from None


def _check_env(variable: Any, path: str) -> None:
    if not isinstance(variable, dict) or not isinstance(variable.get("name"), str):
        raise SpecError(f"{path}.name is required")
    _check_fields(variable, {"name", "value", "valueFrom"}, path)
    source = variable.get("valueFrom")
    if source is None:
        return
    _check_fields(source, {"configMapKeyRef", "secretKeyRef", "fieldRef"}, f"{path}.valueFrom")
    if "fieldRef" in source:
        field_path = (source["fieldRef"] or {}).get("fieldPath")
        if field_path not in ("metadata.name", "metadata.namespace"):
            raise unsupported(f"{path}.valueFrom.fieldRef.fieldPath {field_path}")
        return
    for key in ("configMapKeyRef", "secretKeyRef"):
        if key in source:
            ref = source[key] or {}
            _check_fields(ref, {"name", "key", "optional"}, f"{path}.valueFrom.{key}")
            if not isinstance(ref.get("name"), str) or not isinstance(ref.get("key"), str):
                raise SpecError(f"{path}.valueFrom.{key} needs name and key")
            return
    raise SpecError(f"{path}.valueFrom needs configMapKeyRef, secretKeyRef or fieldRef")


def _check_fields(value: Any, allowed: set[str], path: str) -> None:
    if not isinstance(value, dict):
        raise SpecError(f"{path or 'the object'} must be an object")
    for key in sorted(set(value) - allowed):
        raise unsupported(f"{path}.{key}" if path else key)


def _check_string_map(value: Any, path: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise SpecError(f"{path} must map strings to strings")


def _check_dns_name(name: Any, path: str) -> None:
    if not is_dns_subdomain(name):
        raise SpecError(
            f"{path} {name!r} must be lower-case letters, digits, '-' or '.', "
            "starting and ending with a letter or digit"
        )


def _is_port(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def parse_cpu(value: Any) -> float:
    """A Kubernetes CPU quantity ("500m", "2", 0.5) in CPUs."""
    text = str(value)
    if text.endswith("m"):
        return float(text[:-1]) / 1000
    return float(text)


_MEMORY_UNITS = {
    "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3, "Ti": 1024**4,
    "k": 1000, "K": 1000, "M": 1000**2, "G": 1000**3, "T": 1000**4,
}


def parse_memory(value: Any) -> int:
    """A Kubernetes memory quantity ("128Mi", "1G", 1000) in bytes."""
    text = str(value)
    for suffix in sorted(_MEMORY_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * _MEMORY_UNITS[suffix])
    return int(float(text))

