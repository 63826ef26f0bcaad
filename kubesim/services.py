"""Services and claims: Endpoints and EndpointSlices list the pods a Service selects (ready
ones as ready), LoadBalancer Services get an address from a documentation range, and
PersistentVolumeClaims bind."""

from __future__ import annotations

import itertools

from .controllers import Cluster, is_deleting, owner_reference
from .pods import is_ready
from .selectors import Requirement

# Endpoints the simulator keeps carry this label, as those of a cluster's endpoints controller.
MANAGED_ENDPOINTS = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_NAME = "kubernetes.io/service-name"
SLICE_MANAGER = "endpointslice.kubernetes.io/managed-by"


class ServiceController:
    """Keeps each Service's endpoints and load-balancer address."""

    def __init__(self) -> None:
        # TEST-NET-1 (RFC 5737): addresses that never route anywhere.
        self._addresses = (f"192.0.2.{n}" for n in itertools.cycle(range(10, 255)))

    def __call__(self, cluster: Cluster) -> None:
        services = {}
        # Grouped once per pass: a pass looks at every Service, and each at its namespace.
        pods: dict[str, list[dict]] = {}
        for pod in cluster.objects("", "Pod"):
            pods.setdefault(pod["metadata"]["namespace"], []).append(pod)
        kept: dict[tuple[str, str], list[dict]] = {}
        for kind, group in (("Endpoints", ""), ("EndpointSlice", "discovery.k8s.io")):
            for obj in cluster.objects(group, kind):
                metadata = obj["metadata"]
                owner = (metadata.get("labels") or {}).get(SERVICE_NAME, metadata["name"])
                kept.setdefault((metadata["namespace"], owner), []).append(obj)
        for service in cluster.objects("", "Service"):
            metadata = service["metadata"]
            services[(metadata["namespace"], metadata["name"])] = service
            if is_deleting(service):
                continue
            self._load_balancer(cluster, service)
            selector = service["spec"].get("selector")
            if selector:
                key = (metadata["namespace"], metadata["name"])
                _endpoints(cluster, service, _selected(pods.get(key[0], []), selector),
                           kept.get(key, []))
        for endpoints in cluster.objects("", "Endpoints"):
            metadata = endpoints["metadata"]
            if (MANAGED_ENDPOINTS in (metadata.get("labels") or {})
                    and (metadata["namespace"], metadata["name"]) not in services):
                cluster.delete(endpoints)

    def _load_balancer(self, cluster: Cluster, service: dict) -> None:
        ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress")
        if service["spec"].get("type") == "LoadBalancer":
            if not ingress:
                cluster.set_status(service, {"loadBalancer": {"ingress": [
                    {"ip": next(self._addresses), "ipMode": "VIP"}]}})
        elif ingress:
            cluster.set_status(service, {"loadBalancer": {}})


def _selected(pods: list[dict], selector: dict) -> list[dict]:
    requirements = [Requirement(key, "=", (value,)) for key, value in selector.items()]
    return [pod for pod in pods
            if not is_deleting(pod) and (pod.get("status") or {}).get("podIP")
            and all(r.matches(pod["metadata"].get("labels") or {}) for r in requirements)]


def _target_port(port: dict, pod: dict) -> int | None:
    """The pod's port a Service port forwards to: a number, or a container port's name."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for container in pod["spec"].get("containers") or []:
        for container_port in container.get("ports") or []:
            if container_port.get("name") == target:
                return container_port.get("containerPort")
    return None


def _endpoints(cluster: Cluster, service: dict, pods: list[dict], kept: list[dict]) -> None:
    """Keep the Endpoints and the EndpointSlice of `service` (`kept`: those that exist)."""
    metadata = service["metadata"]
    namespace, name = metadata["namespace"], metadata["name"]
    ports = service["spec"].get("ports") or []
    pods = sorted(pods, key=lambda pod: pod["status"]["podIP"])

    def address(pod: dict) -> dict:
        return {"ip": pod["status"]["podIP"], "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": namespace,
                              "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}}

    endpoint_ports = [
        {**({"name": port["name"]} if port.get("name") else {}),
         "port": _target_port(port, pods[0]) if pods else port.get("port"),
         "protocol": port.get("protocol", "TCP")}
        for port in ports]
    subset = {}
    if [pod for pod in pods if is_ready(pod)]:
        subset["addresses"] = [address(pod) for pod in pods if is_ready(pod)]
    if [pod for pod in pods if not is_ready(pod)]:
        subset["notReadyAddresses"] = [address(pod) for pod in pods if not is_ready(pod)]
    subsets = [{**subset, "ports": endpoint_ports}] if subset else []
    labels = {**(metadata.get("labels") or {}), MANAGED_ENDPOINTS: "true"}
    _keep(cluster, "", "Endpoints", namespace,
          next((obj for obj in kept if obj["kind"] == "Endpoints"), None), {"subsets": subsets},
          {"name": name, "labels": labels})
    slice_body = {
        "addressType": "IPv4",
        "endpoints": [{"addresses": [pod["status"]["podIP"]],
                       "conditions": {"ready": is_ready(pod), "serving": is_ready(pod),
                                      "terminating": False},
                       "nodeName": pod["spec"].get("nodeName"),
                       "targetRef": address(pod)["targetRef"]} for pod in pods],
        "ports": endpoint_ports,
    }
    slice_metadata = {
        "generateName": f"{name}-",
        "labels": {SERVICE_NAME: name, SLICE_MANAGER: "endpointslice-controller.k8s.io"},
        "ownerReferences": [owner_reference(service)],
    }
    _keep(cluster, "discovery.k8s.io", "EndpointSlice", namespace,
          next((obj for obj in kept if obj["kind"] == "EndpointSlice"), None), slice_body,
          slice_metadata)


def _keep(cluster: Cluster, group: str, kind: str, namespace: str, current: dict | None,
          body: dict, metadata: dict) -> None:
    """Create the object, or update its body when it differs."""
    if current is None:
        api_version = f"{group}/v1" if group else "v1"
        cluster.create(group, kind, namespace,
                       {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body})
    elif any(current.get(key) != value for key, value in body.items()):
        cluster.update(current, lambda obj: obj.update(body))


def reconcile_claims(cluster: Cluster) -> None:
    """Every PersistentVolumeClaim binds at once to a volume named after it, as with a
    default StorageClass that provisions immediately."""
    for claim in cluster.objects("", "PersistentVolumeClaim"):
        if is_deleting(claim) or (claim.get("status") or {}).get("phase") == "Bound":
            continue
        volume = f"pvc-{claim['metadata']['uid']}"
        if claim["spec"].get("volumeName") != volume:
            cluster.update(claim, lambda obj: obj["spec"].update(volumeName=volume))
            claim = cluster.store.by_uid(claim["metadata"]["uid"])
        requested = ((claim["spec"].get("resources") or {}).get("requests") or {})
        cluster.set_status(claim, {
            "phase": "Bound",
            "accessModes": claim["spec"].get("accessModes") or ["ReadWriteOnce"],
            "capacity": {"storage": requested.get("storage", "1Gi")},
        })
