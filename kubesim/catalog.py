"""The kinds the simulator serves: built-in ones plus those added by CustomResourceDefinitions."""

from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
COMMON_TOP_LEVEL = frozenset({"apiVersion", "kind", "metadata"})
SPEC_STATUS = frozenset({"spec", "status"})


@dataclass(frozen=True)
class ResourceType:
    """One served resource: where it lives in the API and what its objects may hold."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # Top-level fields besides apiVersion/kind/metadata; None means "any" (custom resources).
    fields: frozenset[str] | None = SPEC_STATUS
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = tuple(ALL_VERBS)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified_plural(self) -> str:
        """`deployments.apps` as Kubernetes names the resource in messages; core kinds stay bare."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_spec(self) -> bool:
        return self.fields is None or "spec" in self.fields

    def discovery_entries(self) -> list[dict]:
        """This resource and its subresources as APIResource entries of an APIResourceList."""
        entry = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        for sub in self.subresources:
            sub_kind = "Scale" if sub == "scale" else self.kind
            sub_entry = {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": sub_kind,
                "verbs": ["get", "patch", "update"],
            }
            if sub == "scale":
                sub_entry.update(group="autoscaling", version="v1")
            entries.append(sub_entry)
        return entries


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names)


_WORKLOAD = ("status", "scale")
BUILTIN_TYPES: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", False, ("ns",), subresources=("status",)),
    ResourceType(
        "", "v1", "ConfigMap", "configmaps", short_names=("cm",),
        fields=_fields("data", "binaryData", "immutable"),
    ),
    ResourceType(
        "", "v1", "Secret", "secrets", fields=_fields("data", "stringData", "type", "immutable"),
    ),
    ResourceType(
        "", "v1", "Service", "services", short_names=("svc",), categories=("all",),
        subresources=("status",),
    ),
    ResourceType(
        "", "v1", "Pod", "pods", short_names=("po",), categories=("all",), subresources=("status",),
    ),
    ResourceType(
        "", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",),
        fields=_fields("secrets", "imagePullSecrets", "automountServiceAccountToken"),
    ),
    ResourceType(
        "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
        subresources=("status",),
    ),
    ResourceType(
        "", "v1", "PersistentVolume", "persistentvolumes", False, ("pv",), subresources=("status",),
    ),
    ResourceType(
        "", "v1", "ReplicationController", "replicationcontrollers", short_names=("rc",),
        categories=("all",), subresources=_WORKLOAD,
    ),
    ResourceType(
        "", "v1", "Endpoints", "endpoints", short_names=("ep",), fields=_fields("subsets"),
    ),
    ResourceType("", "v1", "Event", "events", short_names=("ev",), fields=None),
    ResourceType(
        "", "v1", "LimitRange", "limitranges", short_names=("limits",), fields=_fields("spec"),
    ),
    ResourceType(
        "", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",),
        subresources=("status",),
    ),
    ResourceType("", "v1", "Node", "nodes", False, ("no",), subresources=("status",)),
    ResourceType(
        "apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=("all",),
        subresources=_WORKLOAD,
    ),
    ResourceType(
        "apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
        subresources=_WORKLOAD,
    ),
    ResourceType(
        "apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=("all",),
        subresources=_WORKLOAD,
    ),
    ResourceType(
        "apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=("all",),
        subresources=("status",),
    ),
    ResourceType(
        "apps", "v1", "ControllerRevision", "controllerrevisions",
        fields=_fields("data", "revision"),
    ),
    ResourceType(
        "discovery.k8s.io", "v1", "EndpointSlice", "endpointslices",
        fields=_fields("addressType", "endpoints", "ports"),
    ),
    ResourceType("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",)),
    ResourceType(
        "batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=("all",),
        subresources=("status",),
    ),
    ResourceType(
        "networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",),
        subresources=("status",),
    ),
    ResourceType(
        "networking.k8s.io", "v1", "IngressClass", "ingressclasses", False, fields=_fields("spec"),
    ),
    ResourceType(
        "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",),
        fields=_fields("spec"),
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "Role", "roles", fields=_fields("rules"),
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings",
        fields=_fields("subjects", "roleRef"),
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False,
        fields=_fields("rules", "aggregationRule"),
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False,
        fields=_fields("subjects", "roleRef"),
    ),
    ResourceType(
        "policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
        subresources=("status",),
    ),
    ResourceType(
        "autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
        short_names=("hpa",), categories=("all",), subresources=("status",),
    ),
    ResourceType(
        "apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
        False, ("crd", "crds"), subresources=("status",),
    ),
)

SCALABLE_KINDS = frozenset(t.kind for t in BUILTIN_TYPES if "scale" in t.subresources)


@dataclass
class Catalog:
    """Served resource types by group/version, built-in ones first; CRDs add and remove theirs.

    Writers hold the store's lock; readers (routing, discovery) iterate over snapshots, so a
    CRD created mid-request never breaks an iteration."""

    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    @classmethod
    def builtin(cls) -> "Catalog":
        catalog = cls()
        for resource_type in BUILTIN_TYPES:
            catalog.add(resource_type)
        return catalog

    def add(self, resource_type: ResourceType) -> None:
        key = (resource_type.group, resource_type.version, resource_type.plural)
        self.types[key] = resource_type

    def remove_group_resource(self, group: str, plural: str) -> None:
        for key in [k for k in list(self.types) if k[0] == group and k[2] == plural]:
            del self.types[key]

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def group_versions(self) -> dict[str, list[str]]:
        """Group name -> served versions, in the order they were added (preferred first)."""
        groups: dict[str, list[str]] = {}
        for group, version, _ in list(self.types):
            versions = groups.setdefault(group, [])
            if version not in versions:
                versions.append(version)
        return groups

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for (g, v, _), t in list(self.types.items()) if (g, v) == (group, version)]


def crd_resource_types(crd: dict) -> list[ResourceType]:
    """The resource types a (validated) CustomResourceDefinition serves, one per served version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    types = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = tuple(sorted((version.get("subresources") or {}).keys()))
        types.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                kind=names["kind"],
                plural=names["plural"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                fields=None,
                subresources=subresources,
            )
        )
    return types
