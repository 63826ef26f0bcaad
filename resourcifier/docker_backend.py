"""The docker backend: runs Kubernetes-shaped objects on a plain Docker engine.

How objects map onto the engine:

- Every object is recorded as a small labelled docker volume (`dm.<ns>.<kind>.<name>`)
  whose labels hold the applied object, its uid and generation. Records survive a
  restart of the resourcifier and of the engine, and need no extra image.
- A namespace is a user-defined bridge network `dm-<namespace>`.
- A pod is one container per pod container; the first one owns the network namespace
  (hostname = pod name, network aliases) and the others join it
  (`network_mode=container:<id>`), as containers of a pod share localhost.
- Deployments, ReplicaSets, ReplicationControllers and StatefulSets keep `replicas`
  pods whose names (or labels, for StatefulSets) carry a hash of the pod template and
  of the host ports the pod publishes; a change of either creates new pods, then
  removes the old ones. A Job is one pod that restarts on failure up to backoffLimit.
- A Service is a set of network aliases (`name`, `name.ns`, `name.ns.svc`,
  `name.ns.svc.cluster.local`) on the pods its selector matches, kept in step when
  either side changes. NodePort/LoadBalancer ports are published on the host by the
  first replica.
- ConfigMaps and Secrets live only in their records; pods read them when created
  (env, envFrom, and volume files copied into the container before it starts).
- A PersistentVolumeClaim is a named volume `dm.<ns>.claim.<name>`.

Everything the backend creates carries the `docker.deployment-manager.io/*` labels, and
it only ever lists, changes or removes engine objects that carry them.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import tarfile
import threading
import uuid
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

import docker
import requests
from docker.types import Mount

from dmcommon.errors import NotFound, ServiceUnavailable
from resourcifier.backend import CREATED, DELETED, FAILED, Backend, ResourceResult
from resourcifier.docker_spec import (
    API_VERSIONS,
    KNOWN_UNSUPPORTED_KINDS,
    PUBLISHING_SERVICE_TYPES,
    WORKLOAD_KINDS,
    ObjectKey,
    SpecError,
    canonical_kind,
    check_object,
    identify,
    parse_cpu,
    parse_memory,
    selector_matches,
    template_hash,
)

PREFIX = "docker.deployment-manager.io/"
ROLE = PREFIX + "role"
KIND = PREFIX + "kind"
NAMESPACE = PREFIX + "namespace"
NAME = PREFIX + "name"
POD = PREFIX + "pod"
CONTAINER = PREFIX + "container"
INDEX = PREFIX + "index"
HASH = PREFIX + "template-hash"
POD_LABELS = PREFIX + "pod-labels"
OBJECT = PREFIX + "object"
DEPLOYMENT_LABEL = "deployment-manager.io/deployment"
KEEP_ANNOTATION = PREFIX + "keep-volume"

_RECORD, _NETWORK, _CONTAINER, _VOLUME, _CLAIM = "record", "network", "container", "volume", "claim"


def network_name(namespace: str) -> str:
    """The docker network that stands for a namespace."""
    return f"dm-{namespace}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class DockerBackend(Backend):
    """A Backend over one Docker engine, reached through DOCKER_HOST or the default socket."""

    def __init__(self, config: Mapping[str, Any]):
        self._default_namespace = config.get("NAMESPACE") or "default"
        self._timeout = int(config.get("DOCKER_TIMEOUT") or 60)
        self._client = None
        # One worker process serves requests one at a time, but a threaded server may not.
        self._lock = threading.RLock()

    # -- engine access -------------------------------------------------------------

    @property
    def api(self):
        """The low-level Docker API client, connected on first use."""
        if self._client is None:
            try:
                self._client = docker.from_env(timeout=self._timeout)
            except docker.errors.DockerException as error:
                raise ServiceUnavailable(f"cannot reach the docker engine: {error}") from None
        return self._client.api

    def check(self) -> None:
        try:
            self.api.ping()
        except (docker.errors.DockerException, OSError) as error:
            raise ServiceUnavailable(f"cannot reach the docker engine: {error}") from None

    # -- the Backend interface -----------------------------------------------------

    def unknown_kinds(self, objects: list[dict[str, Any]]) -> dict[int, str]:
        return {
            index: f"unknown kind {obj.get('kind')!r}"
            for index, obj in enumerate(objects)
            if obj.get("kind") not in API_VERSIONS
            and obj.get("kind") not in KNOWN_UNSUPPORTED_KINDS
        }

    def apply(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        default_namespace = namespace or self._default_namespace
        namespaces_in_batch: set[str] = set()

        def apply_one(obj: dict[str, Any]) -> ResourceResult:
            key = identify(obj, default_namespace)
            check_object(obj)
            if key.kind != "Namespace" and key.namespace not in namespaces_in_batch:
                self._require_namespace(key.namespace)
            live = None if dry_run else self._apply_one(key, obj)
            if key.kind == "Namespace":
                namespaces_in_batch.add(key.name)
            return ResourceResult(CREATED, live=live)

        # Pods start with what exists when they are created: the ConfigMaps, Secrets,
        # claims and Services of the batch go first, whatever order it lists them in.
        order = sorted(range(len(objects)),
                       key=lambda index: _kind_of(objects[index]) in WORKLOAD_KINDS)
        results = self._each([objects[index] for index in order], apply_one)
        by_index = dict(zip(order, results))
        return [by_index[index] for index in range(len(objects))]

    def delete(
        self, objects: list[dict[str, Any]], namespace: str | None, dry_run: bool = False
    ) -> list[ResourceResult]:
        default_namespace = namespace or self._default_namespace

        def delete_one(obj: dict[str, Any]) -> ResourceResult:
            # Applying a kind the backend does not run always fails: nothing to delete.
            if obj.get("kind") not in API_VERSIONS:
                return ResourceResult(DELETED)
            key = identify(obj, default_namespace)
            if not dry_run:
                self._delete_one(key)
            return ResourceResult(DELETED)

        return self._each(objects, delete_one)

    def _each(
        self, objects: list[dict[str, Any]], step: Callable[[dict[str, Any]], ResourceResult]
    ) -> list[ResourceResult]:
        """Run `step` on every object; a failure is that object's result, not the batch's."""
        results = []
        with self._engine_errors(), self._lock:
            for obj in objects:
                try:
                    results.append(step(obj))
                except SpecError as error:
                    results.append(ResourceResult(FAILED, [str(error)]))
                except docker.errors.APIError as error:
                    results.append(ResourceResult(FAILED, [f"docker engine: {_explain(error)}"]))
        return results

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any]:
        kind = self._known_kind(kind)
        namespace = "" if kind == "Namespace" else namespace or self._default_namespace
        with self._engine_errors():
            record = self._read_record(ObjectKey(kind, namespace, name))
            if record is not None:
                return self._live(record)
            if kind == "Pod":
                for pod in self._generated_pods(namespace):
                    if pod["metadata"]["name"] == name:
                        return pod
        where = f' in namespace "{namespace}"' if namespace else ""
        raise NotFound(f'{kind} "{name}" not found{where}')

    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        kind = self._known_kind(kind)
        namespace = None if kind == "Namespace" else namespace or self._default_namespace
        with self._engine_errors():
            items = [self._live(record) for record in self._records(kind, namespace)]
            if kind == "Pod":
                items.extend(self._generated_pods(namespace))
        return sorted(items, key=lambda item: item["metadata"]["name"])

    def _known_kind(self, name: str) -> str:
        kind = canonical_kind(name)
        if kind is None:
            raise NotFound(f"kind {name!r} is not supported by the docker backend")
        return kind

    # -- records -------------------------------------------------------------------

    @staticmethod
    def _record_volume(key: ObjectKey) -> str:
        return f"dm.{key.namespace or '_'}.{key.kind.lower()}.{key.name}"

    def _records(self, kind: str | None = None, namespace: str | None = None) -> list[dict]:
        labels = {ROLE: _RECORD}
        if kind:
            labels[KIND] = kind
        if namespace is not None:
            labels[NAMESPACE] = namespace
        volumes = self.api.volumes(filters={"label": _key_values(labels)})["Volumes"] or []
        return [json.loads(volume["Labels"][OBJECT]) for volume in volumes]

    def _read_record(self, key: ObjectKey) -> dict | None:
        try:
            volume = self.api.inspect_volume(self._record_volume(key))
        except docker.errors.NotFound:
            return None
        if (volume.get("Labels") or {}).get(ROLE) != _RECORD:
            return None
        return json.loads(volume["Labels"][OBJECT])

    def _store(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]:
        """Record the applied object; keep uid and creation time, count spec changes."""
        previous = self._read_record(key)
        if previous is not None and previous["applied"] == obj:
            return previous
        record = {
            "applied": obj,
            "kind": key.kind,
            "namespace": key.namespace,
            "name": key.name,
            "uid": previous["uid"] if previous else str(uuid.uuid4()),
            "creationTimestamp": previous["creationTimestamp"] if previous else _now(),
            "generation": (previous["generation"] + 1) if previous else 1,
        }
        volume = self._record_volume(key)
        if previous is not None:
            self.api.remove_volume(volume)
        labels = {**self._owner_labels(key, obj), ROLE: _RECORD, OBJECT: json.dumps(record)}
        self.api.create_volume(volume, labels=labels)
        return record

    def _owner_labels(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, str]:
        labels = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name}
        deployment = ((obj.get("metadata") or {}).get("labels") or {}).get(DEPLOYMENT_LABEL)
        if deployment:
            labels[DEPLOYMENT_LABEL] = deployment
        return labels

    def _require_namespace(self, namespace: str) -> None:
        if namespace == "default":
            return
        if self._read_record(ObjectKey("Namespace", "", namespace)) is None:
            raise SpecError(f"namespace {namespace!r} not found")

    # -- apply ---------------------------------------------------------------------

    def _apply_one(self, key: ObjectKey, obj: dict[str, Any]) -> dict[str, Any]:
        previous = self._read_record(key) if key.kind == "Service" else None
        record = self._store(key, obj)
        if key.kind == "Namespace":
            self._ensure_network(key.name)
        elif key.kind == "PersistentVolumeClaim":
            self._ensure_volume(f"dm.{key.namespace}.claim.{key.name}",
                                {**self._owner_labels(key, obj), ROLE: _CLAIM})
        elif key.kind == "Service":
            self._ensure_network(key.namespace)
            self._sync_namespace(key.namespace, _publishes(previous) or _publishes(record))
        elif key.kind in WORKLOAD_KINDS:
            self._ensure_network(key.namespace)
            self._reconcile(record)
        return self._live(record)

    def _ensure_network(self, namespace: str) -> None:
        name = network_name(namespace)
        try:
            self.api.inspect_network(name)
        except docker.errors.NotFound:
            self.api.create_network(
                name, driver="bridge", labels={ROLE: _NETWORK, NAMESPACE: namespace}
            )

    def _ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        try:
            self.api.inspect_volume(name)
        except docker.errors.NotFound:
            self.api.create_volume(name, labels=labels)

    def _sync_namespace(self, namespace: str, ports_changed: bool) -> None:
        """After a Service changed: pods get the right published ports, then the right aliases."""
        if ports_changed:
            for record in self._records(namespace=namespace):
                if record["kind"] in WORKLOAD_KINDS:
                    self._reconcile(record)
        self._sync_aliases(namespace)

    def _services(self, namespace: str) -> list[dict[str, Any]]:
        return [record["applied"] for record in self._records("Service", namespace)]

    def _aliases(self, namespace: str, labels: dict[str, str], services=None) -> list[str]:
        names = []
        for service in services if services is not None else self._services(namespace):
            if selector_matches(service["spec"].get("selector"), labels):
                name = service["metadata"]["name"]
                names += [name, f"{name}.{namespace}", f"{name}.{namespace}.svc",
                          f"{name}.{namespace}.svc.cluster.local"]
        return sorted(names)

    def _published(self, namespace: str, labels: dict[str, str]) -> list[tuple[int, int, str]]:
        """(host port, container port, protocol) of NodePort/LoadBalancer Services over a pod."""
        ports = []
        for service in self._services(namespace):
            spec = service["spec"]
            if spec.get("type") in PUBLISHING_SERVICE_TYPES and selector_matches(
                spec.get("selector"), labels
            ):
                for port in spec.get("ports") or []:
                    ports.append((port.get("nodePort", port["port"]), port["port"],
                                  port.get("protocol", "TCP").lower()))
        return sorted(ports)

    def _sync_aliases(self, namespace: str) -> None:
        """Give every pod of the namespace exactly the aliases of the Services selecting it."""
        services = self._services(namespace)
        net = network_name(namespace)
        for summary in self._containers({NAMESPACE: namespace, INDEX: "0"}):
            wanted = self._aliases(namespace, json.loads(summary["Labels"][POD_LABELS]), services)
            details = self.api.inspect_container(summary["Id"])
            endpoint = (details["NetworkSettings"]["Networks"] or {}).get(net)
            if endpoint is None:
                continue
            # The engine adds the short id and the hostname itself; they are not ours to keep.
            automatic = {summary["Id"][:12], details["Config"]["Hostname"]}
            current = set(endpoint.get("Aliases") or []) - automatic
            if current != set(wanted):
                self.api.disconnect_container_from_network(summary["Id"], net)
                self.api.connect_container_to_network(summary["Id"], net, aliases=wanted)

    def _containers(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        return self.api.containers(all=True, filters={"label": _key_values(labels)})

    def _reconcile(self, record: dict[str, Any]) -> None:
        """Bring the pods of one workload in line with its record: create, replace, remove."""
        key = ObjectKey(record["kind"], record["namespace"], record["name"])
        obj = record["applied"]
        template = _pod_template(obj)
        labels = (template.get("metadata") or {}).get("labels") or {}
        published = self._published(key.namespace, labels)
        digest = template_hash(template, published)
        desired = _pod_names(key, obj, digest)
        groups = self._pod_groups(key)
        expected = len(template["spec"]["containers"])
        stale = [pod for pod in groups if pod not in desired]
        if published:
            # Host ports can be bound once: the old pods must let go before new ones start.
            for pod in stale:
                self._remove_pod(key, pod, groups[pod])
            stale = []
        for index, pod in enumerate(desired):
            containers = groups.get(pod, [])
            if len(containers) == expected and all(
                container["Labels"].get(HASH) == digest for container in containers
            ):
                self._restart_stopped(key, template["spec"], containers)
                continue
            if containers:
                self._remove_pod(key, pod, containers)
            self._create_pod(key, obj, pod, template, digest, published if index == 0 else [])
        for pod in stale:
            self._remove_pod(key, pod, groups[pod])

    def _restart_stopped(
        self, key: ObjectKey, spec: dict[str, Any], containers: list[dict[str, Any]]
    ) -> None:
        """Start again what was stopped by hand in a pod that should always run."""
        if key.kind == "Job" or spec.get("restartPolicy", "Always") != "Always":
            return
        for summary in containers:
            if summary["State"] in ("exited", "created"):
                self.api.start(summary["Id"])

    def _pod_groups(self, key: ObjectKey) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        owner = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name, ROLE: _CONTAINER}
        for summary in self._containers(owner):
            groups[summary["Labels"][POD]].append(summary)
        for containers in groups.values():
            containers.sort(key=lambda summary: int(summary["Labels"][INDEX]))
        return groups

    def _remove_pod(self, key: ObjectKey, pod: str, containers: list[dict[str, Any]]) -> None:
        # Joined containers first: the first one holds their network namespace.
        for summary in reversed(containers):
            self._remove_container(summary["Id"])
        owner = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name, POD: pod, ROLE: _VOLUME}
        self._remove_volumes(owner)

    def _remove_container(self, container_id: str) -> None:
        try:
            self.api.remove_container(container_id, force=True, v=False)
        except docker.errors.NotFound:
            pass

    def _remove_volumes(self, labels: dict[str, str]) -> None:
        for volume in self.api.volumes(filters={"label": _key_values(labels)})["Volumes"] or []:
            self._remove_volume(volume["Name"])

    def _remove_volume(self, name: str) -> None:
        try:
            self.api.remove_volume(name)
        except docker.errors.NotFound:
            pass

    def _create_pod(
        self,
        key: ObjectKey,
        obj: dict[str, Any],
        pod: str,
        template: dict[str, Any],
        digest: str,
        published: list[tuple[int, int, str]],
    ) -> None:
        spec = template["spec"]
        labels = (template.get("metadata") or {}).get("labels") or {}
        namespace = key.namespace
        sources, files = self._pod_volumes(key, obj, pod, spec)
        created: list[str] = []
        try:
            for index, container in enumerate(spec["containers"]):
                self._ensure_image(container["image"], container.get("imagePullPolicy"))
                container_labels = {
                    **self._owner_labels(key, obj),
                    ROLE: _CONTAINER,
                    POD: pod,
                    CONTAINER: container["name"],
                    INDEX: str(index),
                    HASH: digest,
                    POD_LABELS: json.dumps(labels, sort_keys=True),
                }
                host_config: dict[str, Any] = {
                    "restart_policy": _restart_policy(key.kind, obj, spec),
                    "mounts": [
                        _mount(mount, sources[mount["name"]])
                        for mount in container.get("volumeMounts") or []
                        if mount["name"] in sources
                    ],
                }
                limits = (container.get("resources") or {}).get("limits") or {}
                if "cpu" in limits:
                    host_config["nano_cpus"] = int(parse_cpu(limits["cpu"]) * 1e9)
                if "memory" in limits:
                    host_config["mem_limit"] = parse_memory(limits["memory"])
                create: dict[str, Any] = {}
                if index == 0:
                    net = network_name(namespace)
                    host_config["network_mode"] = net
                    host_config["port_bindings"] = {
                        f"{inner}/{protocol}": outer for outer, inner, protocol in published
                    }
                    create["ports"] = [(inner, protocol) for _, inner, protocol in published]
                    create["hostname"] = pod[:63]
                    create["networking_config"] = self.api.create_networking_config(
                        {net: self.api.create_endpoint_config(
                            aliases=self._aliases(namespace, labels))}
                    )
                else:
                    host_config["network_mode"] = f"container:{created[0]}"
                response = self.api.create_container(
                    container["image"],
                    name=f"dm.{namespace}.{pod}.{container['name']}",
                    entrypoint=container.get("command"),
                    command=container.get("args"),
                    environment=self._environment(namespace, pod, container),
                    working_dir=container.get("workingDir"),
                    labels=container_labels,
                    stdin_open=bool(container.get("stdin")),
                    tty=bool(container.get("tty")),
                    stop_timeout=spec.get("terminationGracePeriodSeconds"),
                    host_config=self.api.create_host_config(**host_config),
                    **create,
                )
                created.append(response["Id"])
                for mount in container.get("volumeMounts") or []:
                    if mount["name"] in files:
                        self.api.put_archive(
                            response["Id"], "/", _tar(mount["mountPath"], files[mount["name"]])
                        )
            for container_id in created:
                self.api.start(container_id)
        except (SpecError, docker.errors.APIError):
            for container_id in reversed(created):
                self._remove_container(container_id)
            raise

    def _ensure_image(self, image: str, policy: str | None) -> None:
        present = True
        try:
            self.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            present = False
        if present and policy != "Always":
            return
        if policy == "Never":
            raise SpecError(f"image {image!r} is not on the engine and imagePullPolicy is Never")
        repository, tag = _split_image(image)
        try:
            self.api.pull(repository, tag=tag)
        except docker.errors.APIError as error:
            if not present:
                raise SpecError(f"cannot pull image {image!r}: {_explain(error)}") from None

    def _pod_volumes(
        self, key: ObjectKey, obj: dict[str, Any], pod: str, spec: dict[str, Any]
    ) -> tuple[dict[str, str | None], dict[str, dict[str, tuple[bytes, int]]]]:
        """Per pod volume: the docker volume to mount (None: a tmpfs) or the files to copy in.

        ConfigMap and Secret volumes are copied into each container before it starts,
        so the values never sit in a docker volume.
        """
        sources: dict[str, str | None] = {}
        files: dict[str, dict[str, tuple[bytes, int]]] = {}
        for volume in spec.get("volumes") or []:
            name = volume["name"]
            if "emptyDir" in volume:
                if (volume["emptyDir"] or {}).get("medium") == "Memory":
                    sources[name] = None
                    continue
                sources[name] = f"dm.{key.namespace}.{pod}.{name}"
                self._ensure_volume(sources[name], {**self._owner_labels(key, obj),
                                                    ROLE: _VOLUME, POD: pod})
            elif "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]["claimName"]
                if self._read_record(ObjectKey("PersistentVolumeClaim", key.namespace,
                                               claim)) is None:
                    raise SpecError(f"persistentvolumeclaim {claim!r} not found")
                sources[name] = f"dm.{key.namespace}.claim.{claim}"
            else:
                files[name] = self._volume_files(key.namespace, volume)
        if key.kind == "StatefulSet":
            for claim in obj["spec"].get("volumeClaimTemplates") or []:
                name = claim["metadata"]["name"]
                sources[name] = f"dm.{key.namespace}.claim.{name}-{pod}"
                self._ensure_volume(sources[name], {**self._owner_labels(key, obj), ROLE: _CLAIM})
        return sources, files

    def _volume_files(self, namespace: str, volume: dict[str, Any]) -> dict[str, tuple[bytes, int]]:
        is_secret = "secret" in volume
        source = volume["secret" if is_secret else "configMap"]
        name = source["secretName" if is_secret else "name"]
        data = self._config_data("Secret" if is_secret else "ConfigMap", namespace, name,
                                 bool(source.get("optional")))
        mode = source.get("defaultMode", 0o644)
        if source.get("items"):
            chosen = {}
            for item in source["items"]:
                if item["key"] not in data:
                    raise SpecError(f"key {item['key']!r} not found in {name}")
                chosen[item["path"]] = (data[item["key"]], item.get("mode", mode))
            return chosen
        return {key: (value, mode) for key, value in data.items()}

    def _config_data(
        self, kind: str, namespace: str, name: str, optional: bool
    ) -> dict[str, bytes]:
        record = self._read_record(ObjectKey(kind, namespace, name))
        if record is None:
            if optional:
                return {}
            raise SpecError(f"{kind.lower()} {name!r} not found in namespace {namespace!r}")
        applied = record["applied"]
        if kind == "Secret":
            data = {key: base64.b64decode(value) for key, value in
                    (applied.get("data") or {}).items()}
            data.update({key: value.encode() for key, value in
                         (applied.get("stringData") or {}).items()})
            return data
        return {key: value.encode() for key, value in (applied.get("data") or {}).items()}

    def _environment(self, namespace: str, pod: str, container: dict[str, Any]) -> list[str]:
        values: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            kind, ref = (("ConfigMap", source["configMapRef"]) if "configMapRef" in source
                         else ("Secret", source["secretRef"]))
            data = self._config_data(kind, namespace, ref["name"], bool(ref.get("optional")))
            for key, value in data.items():
                values[source.get("prefix", "") + key] = value.decode(errors="replace")
        for variable in container.get("env") or []:
            source = variable.get("valueFrom")
            if source is None:
                values[variable["name"]] = str(variable.get("value", ""))
            elif "fieldRef" in source:
                path = source["fieldRef"]["fieldPath"]
                values[variable["name"]] = pod if path == "metadata.name" else namespace
            else:
                kind, ref = (("ConfigMap", source["configMapKeyRef"]) if "configMapKeyRef" in source
                             else ("Secret", source["secretKeyRef"]))
                data = self._config_data(kind, namespace, ref["name"], bool(ref.get("optional")))
                if ref["key"] in data:
                    values[variable["name"]] = data[ref["key"]].decode(errors="replace")
                elif not ref.get("optional"):
                    raise SpecError(
                        f"key {ref['key']!r} not found in {kind.lower()} {ref['name']!r}"
                    )
        return _key_values(values)

    # -- delete --------------------------------------------------------------------

    def _delete_one(self, key: ObjectKey) -> None:
        record = self._read_record(key)
        if key.kind == "Namespace":
            self._remove_everything({NAMESPACE: key.name})
            self._remove_everything({KIND: "Namespace", NAME: key.name})
            self._remove_network(key.name)
            return
        owner = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name}
        if key.kind in WORKLOAD_KINDS:
            self._remove_everything(owner)
        elif key.kind == "PersistentVolumeClaim" and record is not None:
            keep = (record["applied"]["metadata"].get("annotations") or {}).get(KEEP_ANNOTATION)
            if keep != "true":
                try:
                    self._remove_volume(f"dm.{key.namespace}.claim.{key.name}")
                except docker.errors.APIError as error:
                    raise SpecError(f"the claim's volume is still in use: {_explain(error)}") \
                        from None
        self._remove_volume(self._record_volume(key))
        if key.kind == "Service":
            self._sync_namespace(key.namespace, _publishes(record))
        if not self._records(namespace=key.namespace) and self._read_record(
            ObjectKey("Namespace", "", key.namespace)
        ) is None:
            self._remove_network(key.namespace)

    def _remove_everything(self, labels: dict[str, str]) -> None:
        containers = self._containers(labels)
        # Joined containers before the ones holding their network namespace.
        for summary in sorted(containers, key=lambda s: s["Labels"].get(INDEX, "0"), reverse=True):
            self._remove_container(summary["Id"])
        self._remove_volumes(labels)

    def _remove_network(self, namespace: str) -> None:
        try:
            network = self.api.inspect_network(network_name(namespace))
        except docker.errors.NotFound:
            return
        if (network.get("Labels") or {}).get(ROLE) == _NETWORK:
            try:
                self.api.remove_network(network["Id"])
            except docker.errors.APIError:
                # Something else still uses it; the next delete in the namespace retries.
                pass

    # -- reading -------------------------------------------------------------------

    def _live(self, record: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(record["applied"])
        metadata = obj.setdefault("metadata", {})
        if record["namespace"]:
            metadata["namespace"] = record["namespace"]
        metadata["uid"] = record["uid"]
        metadata["creationTimestamp"] = record["creationTimestamp"]
        metadata["generation"] = record["generation"]
        kind = record["kind"]
        if kind == "Secret":
            data = obj.setdefault("data", {})
            for key, value in (obj.pop("stringData", None) or {}).items():
                data[key] = base64.b64encode(value.encode()).decode()
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Bound",
                             "accessModes": obj["spec"].get("accessModes", [])}
        elif kind == "Service":
            obj["spec"].setdefault("type", "ClusterIP")
            obj["status"] = {"loadBalancer": {}}
        elif kind in WORKLOAD_KINDS:
            obj["status"] = self._workload_status(record)
        return obj

    def _workload_status(self, record: dict[str, Any]) -> dict[str, Any]:
        key = ObjectKey(record["kind"], record["namespace"], record["name"])
        template = _pod_template(record["applied"])
        groups = self._pod_groups(key)
        pods = [self._pod_status(containers, template["spec"]) for containers in groups.values()]
        if key.kind == "Pod":
            return pods[0] if pods else {"phase": "Pending"}
        if key.kind == "Job":
            return _job_status(pods)
        digest = template_hash(template, self._published(
            key.namespace, (template.get("metadata") or {}).get("labels") or {}))
        ready = sum(1 for pod in pods if _pod_ready(pod))
        return {
            "observedGeneration": record["generation"],
            "replicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "updatedReplicas": sum(
                1 for containers in groups.values() if containers[0]["Labels"][HASH] == digest
            ),
        }

    def _pod_status(self, containers: list[dict[str, Any]], spec: dict[str, Any]) -> dict[str, Any]:
        statuses = []
        for summary in containers:
            details = self.api.inspect_container(summary["Id"])
            state = details["State"]
            if state["Running"] and not state.get("Restarting"):
                shown = {"running": {"startedAt": state["StartedAt"]}}
            elif state["Status"] == "exited":
                shown = {"terminated": {"exitCode": state["ExitCode"],
                                        "finishedAt": state["FinishedAt"]}}
            else:
                shown = {"waiting": {"reason": state["Status"]}}
            statuses.append({
                "name": summary["Labels"][CONTAINER],
                "image": details["Config"]["Image"],
                "containerID": f"docker://{summary['Id']}",
                "ready": "running" in shown,
                "restartCount": details.get("RestartCount", 0),
                "state": shown,
            })
        status: dict[str, Any] = {"phase": _phase(statuses, len(spec["containers"])),
                                  "containerStatuses": statuses}
        if containers:
            networks = containers[0].get("NetworkSettings", {}).get("Networks") or {}
            address = next((n.get("IPAddress") for n in networks.values() if n.get("IPAddress")),
                           None)
            if address:
                status["podIP"] = address
        return status

    def _generated_pods(self, namespace: str | None) -> list[dict[str, Any]]:
        """Pods that workloads (not Pod objects) run, shaped as Pod objects."""
        labels = {ROLE: _CONTAINER}
        if namespace is not None:
            labels[NAMESPACE] = namespace
        owners: dict[tuple, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for summary in self._containers(labels):
            found = summary["Labels"]
            if found[KIND] != "Pod":
                owners[(found[KIND], found[NAMESPACE], found[NAME])][found[POD]].append(summary)
        pods = []
        for (kind, pod_namespace, name), groups in owners.items():
            record = self._read_record(ObjectKey(kind, pod_namespace, name))
            if record is None:
                continue
            template = _pod_template(record["applied"])
            for pod, containers in groups.items():
                containers.sort(key=lambda summary: int(summary["Labels"][INDEX]))
                pods.append({
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod,
                        "namespace": pod_namespace,
                        "labels": (template.get("metadata") or {}).get("labels") or {},
                        "ownerReferences": [{"apiVersion": API_VERSIONS[kind], "kind": kind,
                                             "name": name, "uid": record["uid"]}],
                    },
                    "spec": template["spec"],
                    "status": self._pod_status(containers, template["spec"]),
                })
        return pods

    # -- errors --------------------------------------------------------------------

    @contextmanager
    def _engine_errors(self) -> Iterator[None]:
        """Turn "the engine cannot be reached" into 503 for the whole request."""
        try:
            yield
        except docker.errors.APIError:
            raise
        except (docker.errors.DockerException, requests.ConnectionError) as error:
            raise ServiceUnavailable(f"cannot reach the docker engine: {error}") from None


def _kind_of(obj: Any) -> str | None:
    return obj.get("kind") if isinstance(obj, dict) else None


def _publishes(service_record: dict[str, Any] | None) -> bool:
    """Whether a Service's record asks for host ports, which pods get when created."""
    return service_record is not None and (
        service_record["applied"]["spec"].get("type") in PUBLISHING_SERVICE_TYPES
    )


def _mount(volume_mount: dict[str, Any], source: str | None) -> Mount:
    if source is None:
        return Mount(volume_mount["mountPath"], None, type="tmpfs")
    return Mount(volume_mount["mountPath"], source, type="volume",
                 read_only=bool(volume_mount.get("readOnly")))


def _pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "Pod":
        return {"metadata": {"labels": obj["metadata"].get("labels") or {}}, "spec": obj["spec"]}
    return obj["spec"]["template"]


def _pod_names(key: ObjectKey, obj: dict[str, Any], digest: str) -> list[str]:
    if key.kind == "Pod":
        return [key.name]
    if key.kind == "Job":
        return [f"{key.name}-{digest[:5]}"]
    replicas = obj["spec"].get("replicas", 1)
    if key.kind == "StatefulSet":
        return [f"{key.name}-{index}" for index in range(replicas)]
    return [f"{key.name}-{digest}-{index}" for index in range(replicas)]


def _restart_policy(kind: str, obj: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    if kind == "Job":
        retries = obj["spec"].get("backoffLimit", 6)
        # Docker reads a retry count of 0 as "retry for ever".
        return {"Name": "on-failure", "MaximumRetryCount": retries} if retries else {"Name": "no"}
    policy = spec.get("restartPolicy", "Always")
    return {"Always": {"Name": "always"}, "OnFailure": {"Name": "on-failure"},
            "Never": {"Name": "no"}}[policy]


def _phase(statuses: list[dict[str, Any]], expected: int) -> str:
    states = [next(iter(status["state"])) for status in statuses]
    if len(states) < expected or "waiting" in states and "running" not in states:
        return "Pending"
    if all(state == "terminated" for state in states):
        codes = [status["state"]["terminated"]["exitCode"] for status in statuses]
        return "Succeeded" if not any(codes) else "Failed"
    return "Running"


def _pod_ready(status: dict[str, Any]) -> bool:
    return status["phase"] == "Running" and all(c["ready"] for c in status["containerStatuses"])


def _job_status(pods: list[dict[str, Any]]) -> dict[str, Any]:
    phase = pods[0]["phase"] if pods else "Pending"
    if phase == "Succeeded":
        return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    if phase == "Failed":
        return {"failed": 1, "conditions": [{"type": "Failed", "status": "True",
                                             "reason": "BackoffLimitExceeded"}]}
    return {"active": 1 if pods else 0}


def _split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        repository, _, digest = image.partition("@")
        return repository, digest
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return image, "latest"
    return repository, tag


def _tar(directory: str, files: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        base = directory.strip("/")
        folders = {base}
        for path in files:
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folders.add("/".join([base, *parts[:depth]]))
        for folder in sorted(folders):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            archive.addfile(info)
        for path, (content, mode) in sorted(files.items()):
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(content)
            info.mode = mode
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _key_values(values: Mapping[str, str]) -> list[str]:
    """`key=value` strings, as the engine takes label filters and environments."""
    return [f"{key}={value}" for key, value in values.items()]


def _explain(error: Exception) -> str:
    return getattr(error, "explanation", None) or str(error)
