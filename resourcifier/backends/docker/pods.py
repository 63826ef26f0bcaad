"""Pods and the workloads that keep them, as containers on the engine.

A pod is one container per pod container; the first one owns the network namespace
(hostname = pod name, network aliases) and the others join it
(`network_mode=container:<id>`), as containers of a pod share localhost.
Deployments, ReplicaSets, ReplicationControllers and StatefulSets keep `replicas` pods
whose names (or labels, for StatefulSets) carry a hash of the pod template and of the
host ports the pod publishes; a change of either creates new pods, then removes the old
ones. A Job is one pod that restarts on failure up to backoffLimit.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

import docker

from dmcommon.identity import ObjectKey
from resourcifier.backends.docker.engine import (
    CONTAINER,
    HASH,
    INDEX,
    KIND,
    NAME,
    NAMESPACE,
    POD,
    POD_LABELS,
    ROLE,
    ROLE_CONTAINER,
    ROLE_VOLUME,
    Engine,
    explain,
    owner_labels,
)
from resourcifier.backends.docker.files import Files, mount, tar
from resourcifier.backends.docker.networks import Networks, network_name
from resourcifier.backends.docker.records import key_of
from resourcifier.backends.docker.spec import SpecError, parse_cpu, parse_memory


def template_hash(template: dict[str, Any], published: list[tuple[int, int, str]]) -> str:
    """A short stable hash of what a pod is made from; a change replaces the pod."""
    text = json.dumps({"template": template, "published": published}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload; a Pod is its own."""
    if obj["kind"] == "Pod":
        return {"metadata": {"labels": obj["metadata"].get("labels") or {}}, "spec": obj["spec"]}
    return obj["spec"]["template"]


class Pods:
    """Creates, replaces and removes the containers of every workload's pods."""

    def __init__(self, engine: Engine, networks: Networks, files: Files):
        self._engine = engine
        self._networks = networks
        self._files = files

    def reconcile(self, record: dict[str, Any]) -> None:
        """Bring the pods of one workload in line with its record: create, replace, remove."""
        key = key_of(record)
        obj = record["applied"]
        template = pod_template(obj)
        labels = (template.get("metadata") or {}).get("labels") or {}
        published = self._networks.published(key.namespace, labels)
        digest = template_hash(template, published)
        desired = _pod_names(key, obj, digest)
        groups = self.groups(key)
        expected = len(template["spec"]["containers"])
        stale = [pod for pod in groups if pod not in desired]
        if published:
            # Host ports can be bound once: the old pods must let go before new ones start.
            for pod in stale:
                self._remove(key, pod, groups[pod])
            stale = []
        for index, pod in enumerate(desired):
            containers = groups.get(pod, [])
            if len(containers) == expected and all(
                container["Labels"].get(HASH) == digest for container in containers
            ):
                self._restart_stopped(key, template["spec"], containers)
                continue
            if containers:
                self._remove(key, pod, containers)
            self._create(key, obj, pod, template, digest, published if index == 0 else [])
        for pod in stale:
            self._remove(key, pod, groups[pod])

    def groups(self, key: ObjectKey) -> dict[str, list[dict[str, Any]]]:
        """The workload's containers by pod name, each pod's in container order."""
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        owner = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name, ROLE: ROLE_CONTAINER}
        for summary in self._engine.containers(owner):
            groups[summary["Labels"][POD]].append(summary)
        for containers in groups.values():
            containers.sort(key=lambda summary: int(summary["Labels"][INDEX]))
        return groups

    def _restart_stopped(
        self, key: ObjectKey, spec: dict[str, Any], containers: list[dict[str, Any]]
    ) -> None:
        """Start again what was stopped by hand in a pod that should always run."""
        if key.kind == "Job" or spec.get("restartPolicy", "Always") != "Always":
            return
        for summary in containers:
            if summary["State"] in ("exited", "created"):
                self._engine.api.start(summary["Id"])

    def _remove(self, key: ObjectKey, pod: str, containers: list[dict[str, Any]]) -> None:
        # Joined containers first: the first one holds their network namespace.
        for summary in reversed(containers):
            self._engine.remove_container(summary["Id"])
        owner = {KIND: key.kind, NAMESPACE: key.namespace, NAME: key.name, POD: pod,
                 ROLE: ROLE_VOLUME}
        self._engine.remove_volumes(owner)

    def _create(
        self,
        key: ObjectKey,
        obj: dict[str, Any],
        pod: str,
        template: dict[str, Any],
        digest: str,
        published: list[tuple[int, int, str]],
    ) -> None:
        api = self._engine.api
        spec = template["spec"]
        labels = (template.get("metadata") or {}).get("labels") or {}
        namespace = key.namespace
        sources, files = self._files.pod_volumes(key, obj, pod, spec)
        created: list[str] = []
        try:
            for index, container in enumerate(spec["containers"]):
                self._ensure_image(container["image"], container.get("imagePullPolicy"))
                container_labels = {
                    **owner_labels(key, obj),
                    ROLE: ROLE_CONTAINER,
                    POD: pod,
                    CONTAINER: container["name"],
                    INDEX: str(index),
                    HASH: digest,
                    POD_LABELS: json.dumps(labels, sort_keys=True),
                }
                host_config: dict[str, Any] = {
                    "restart_policy": _restart_policy(key.kind, obj, spec),
                    "mounts": [
                        mount(volume_mount, sources[volume_mount["name"]])
                        for volume_mount in container.get("volumeMounts") or []
                        if volume_mount["name"] in sources
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
                    create["networking_config"] = api.create_networking_config(
                        {net: api.create_endpoint_config(
                            aliases=self._networks.aliases(namespace, labels))}
                    )
                else:
                    host_config["network_mode"] = f"container:{created[0]}"
                response = api.create_container(
                    container["image"],
                    name=f"dm.{namespace}.{pod}.{container['name']}",
                    entrypoint=container.get("command"),
                    command=container.get("args"),
                    environment=self._files.environment(namespace, pod, container),
                    working_dir=container.get("workingDir"),
                    labels=container_labels,
                    stdin_open=bool(container.get("stdin")),
                    tty=bool(container.get("tty")),
                    stop_timeout=spec.get("terminationGracePeriodSeconds"),
                    host_config=api.create_host_config(**host_config),
                    **create,
                )
                created.append(response["Id"])
                for volume_mount in container.get("volumeMounts") or []:
                    if volume_mount["name"] in files:
                        api.put_archive(
                            response["Id"], "/",
                            tar(volume_mount["mountPath"], files[volume_mount["name"]]),
                        )
            for container_id in created:
                api.start(container_id)
        except (SpecError, docker.errors.APIError):
            for container_id in reversed(created):
                self._engine.remove_container(container_id)
            raise

    def _ensure_image(self, image: str, policy: str | None) -> None:
        present = True
        try:
            self._engine.api.inspect_image(image)
        except docker.errors.ImageNotFound:
            present = False
        if present and policy != "Always":
            return
        if policy == "Never":
            raise SpecError(f"image {image!r} is not on the engine and imagePullPolicy is Never")
        repository, tag = _split_image(image)
        try:
            self._engine.api.pull(repository, tag=tag)
        except docker.errors.APIError as error:
            if not present:
                raise SpecError(f"cannot pull image {image!r}: {explain(error)}") from None


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


def _split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        repository, _, digest = image.partition("@")
        return repository, digest
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        return image, "latest"
    return repository, tag
