"""deploy/kubernetes/ applied by the real kubectl to the simulator, and what DM needs of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from manager.locate import DEFAULT_PORTS, discover_service_url
from tests.deploy.conftest import DESIGN_PORTS, KUBERNETES, find
from tests.dmcli.runner import dm_json
from tests.support import kubectl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEPLOYMENTS = {
    "manager-service": "manager",
    "expander-service": "expander",
    "resourcifier-service": "resourcifier",
}
# What the kubectl backend runs: apply --server-side (get, create, patch), delete --wait
# (delete, get, watch), get by name and by kind (get, list); update for client-side apply.
RESOURCIFIER_VERBS = {"get", "list", "watch", "create", "update", "patch", "delete"}
# Kinds users commonly deploy besides those of the examples.
COMMON_KINDS = {
    "ConfigMap",
    "Secret",
    "Service",
    "Pod",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Ingress",
    "NetworkPolicy",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ServiceAccount",
}


def live(simulator, kind: str, name: str, namespace: str | None = "dm") -> dict:
    flags = ["-n", namespace] if namespace else []
    result = kubectl(simulator.kubeconfig, *flags, "get", kind, name, "-o", "json")
    return json.loads(result.stdout)


def containers_of(deployment: dict) -> list[dict]:
    return deployment["spec"]["template"]["spec"]["containers"]


def test_server_dry_run_accepts_every_object_and_stores_nothing(empty_simulator, manifests):
    kubeconfig = empty_simulator.kubeconfig
    namespace = kubectl(
        kubeconfig, "apply", "--dry-run=server", "-f", str(KUBERNETES / "00-namespace.yaml")
    )
    assert namespace.stdout.strip() == "namespace/dm created (server dry run)"
    assert kubectl(kubeconfig, "get", "namespace", "dm", check=False).returncode != 0

    # Namespaced objects can only be dry-run inside an existing namespace.
    kubectl(kubeconfig, "apply", "-f", str(KUBERNETES / "00-namespace.yaml"))
    result = kubectl(kubeconfig, "apply", "--dry-run=server", "-f", str(KUBERNETES))
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(manifests)
    assert all(line.endswith("(server dry run)") for line in lines), result.stdout
    stored = kubectl(
        kubeconfig,
        "-n",
        "dm",
        "get",
        "deployments,services,serviceaccounts,persistentvolumeclaims,networkpolicies",
        "-o",
        "json",
    )
    assert [
        item["metadata"]["name"]
        for item in json.loads(stored.stdout)["items"]
        if item["kind"] != "ServiceAccount" or item["metadata"]["name"] != "default"
    ] == []
    assert kubectl(kubeconfig, "get", "clusterrole", "dm-resourcifier", check=False).returncode != 0


def test_apply_stores_every_object(deployed, manifests):
    for item in manifests:
        namespace = item["metadata"].get("namespace")
        stored = live(deployed, item["kind"].lower(), item["metadata"]["name"], namespace)
        assert stored["metadata"]["uid"]


@pytest.mark.parametrize("service_name", sorted(DESIGN_PORTS))
def test_service_exposes_its_deployment_on_the_design_port(deployed, service_name):
    service = live(deployed, "service", service_name)
    deployment = live(deployed, "deployment", DEPLOYMENTS[service_name])
    (port,) = service["spec"]["ports"]
    assert port["port"] == DESIGN_PORTS[service_name]
    # Port name "http" gives the SRV record _http._tcp.<service> that discovery reads.
    assert port["name"] == "http"
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (container,) = containers_of(deployment)
    (container_port,) = container["ports"]
    assert container_port["name"] == port["targetPort"]
    assert container_port["containerPort"] == DESIGN_PORTS[service_name]
    command = container["command"]
    assert command[command.index("--port") + 1] == str(DESIGN_PORTS[service_name])
    assert command[command.index("--host") + 1] == "0.0.0.0"


@pytest.mark.parametrize("service_name", ["expander-service", "resourcifier-service"])
def test_manager_discovers_the_services_from_kubernetes_variables(deployed, service_name):
    service = live(deployed, "service", service_name)
    prefix = service_name.upper().replace("-", "_")
    # The variables Kubernetes injects into pods created after the Service.
    environ = {
        f"{prefix}_SERVICE_HOST": service["spec"]["clusterIP"],
        f"{prefix}_SERVICE_PORT": str(service["spec"]["ports"][0]["port"]),
    }
    url = discover_service_url(service_name, None, DEFAULT_PORTS[service_name], environ)
    assert url == f"http://{service['spec']['clusterIP']}:{DESIGN_PORTS[service_name]}"
    assert DEFAULT_PORTS[service_name] == DESIGN_PORTS[service_name]


def test_manager_is_not_told_the_service_urls(manifests):
    env = {
        item["name"] for item in containers_of(find(manifests, "Deployment", "manager"))[0]["env"]
    }
    assert not env & {"DM_EXPANDER_URL", "DM_RESOURCIFIER_URL"}
    # Service variables are injected only into pods created after the Service.
    order = [(item["kind"], item["metadata"]["name"]) for item in manifests]
    assert order.index(("Service", "expander-service")) < order.index(("Deployment", "manager"))
    assert order.index(("Service", "resourcifier-service")) < order.index(("Deployment", "manager"))


@pytest.mark.parametrize("name", ["manager", "expander", "resourcifier"])
def test_probes_hit_paths_the_running_service_answers(stack, manifests, name):
    (container,) = containers_of(find(manifests, "Deployment", name))
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert liveness == {"path": "/healthz", "port": "http"}
    assert readiness == {"path": "/readyz", "port": "http"}
    url = getattr(stack, name)
    for probe in (liveness, readiness):
        assert requests.get(url + probe["path"], timeout=10).status_code == 200


@pytest.mark.parametrize("name", ["manager", "expander", "resourcifier"])
def test_pods_run_non_root_on_a_read_only_root_with_limits(manifests, name):
    pod = find(manifests, "Deployment", name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert set(mounts.values()) <= set(volumes)


def test_manager_keeps_sqlite_on_a_volume_at_its_data_dir(manifests):
    pod = find(manifests, "Deployment", "manager")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item for item in container["env"]}
    data_dir = env["DM_DATA_DIR"]["value"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    claim = volumes[mounts[data_dir]]["persistentVolumeClaim"]["claimName"]
    assert find(manifests, "PersistentVolumeClaim", claim)["metadata"]["namespace"] == "dm"


def test_expander_has_no_egress_and_only_the_manager_may_call_it(manifests):
    deployment = find(manifests, "Deployment", "expander")
    policies = [
        item
        for item in manifests
        if item["kind"] == "NetworkPolicy"
        and item["spec"]["podSelector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    ]
    (policy,) = policies
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert policy["spec"]["egress"] == []
    (rule,) = policy["spec"]["ingress"]
    manager_labels = find(manifests, "Deployment", "manager")["spec"]["template"]["metadata"][
        "labels"
    ]
    assert rule["from"][0]["podSelector"]["matchLabels"].items() <= manager_labels.items()
    assert rule["ports"] == [{"protocol": "TCP", "port": 8081}]


def _api_resources(simulator) -> dict[str, tuple[str, str]]:
    """kind -> (API group, plural) as the cluster's discovery tells kubectl."""
    table = kubectl(simulator.kubeconfig, "api-resources", "--no-headers", "-o", "wide").stdout
    kinds = {}
    for line in table.splitlines():
        # NAME SHORTNAMES APIVERSION NAMESPACED KIND VERBS...; SHORTNAMES may be blank.
        match = re.match(r"^(\S+)\s+(?:\S+\s+)?(\S+)\s+(true|false)\s+(\S+)", line)
        if match:
            plural, api_version, _, kind = match.groups()
            group = api_version.rpartition("/")[0] if "/" in api_version else ""
            kinds.setdefault(kind, (group, plural))
    return kinds


def _allowed_verbs(role: dict, group: str, plural: str) -> set[str]:
    verbs: set[str] = set()
    for rule in role["rules"]:
        if group in rule.get("apiGroups", []) and plural in rule.get("resources", []):
            verbs |= set(rule["verbs"])
    return verbs


def test_resourcifier_rbac_covers_the_kinds_it_deploys(stack, deployed):
    role = live(deployed, "clusterrole", "dm-resourcifier", None)
    binding = live(deployed, "clusterrolebinding", "dm-resourcifier", None)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "dm-resourcifier",
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "resourcifier", "namespace": "dm"}
    ]
    pod = live(deployed, "deployment", "resourcifier")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "resourcifier"

    kinds = set(COMMON_KINDS)
    for config in (
        EXAMPLES / "guestbook" / "guestbook.yaml",
        EXAMPLES / "service-endpoint" / "service-endpoint.yaml",
    ):
        expansion = dm_json(stack.manager, "expand", str(config))
        kinds |= {item["properties"]["kind"] for item in expansion["config"]["resources"]}
    resources = _api_resources(deployed)
    for kind in sorted(kinds):
        group, plural = resources[kind]
        missing = RESOURCIFIER_VERBS - _allowed_verbs(role, group, plural)
        assert not missing, f"{kind} ({group or 'core'}/{plural}) lacks {sorted(missing)}"


def test_resourcifier_rbac_grants_nothing_on_rbac_or_the_cluster(deployed):
    role = live(deployed, "clusterrole", "dm-resourcifier", None)
    groups = {group for rule in role["rules"] for group in rule["apiGroups"]}
    assert "rbac.authorization.k8s.io" not in groups
    assert "*" not in groups
    resources = {name for rule in role["rules"] for name in rule["resources"]}
    assert not resources & {"*", "nodes", "customresourcedefinitions", "clusterroles"}
    namespaces = _allowed_verbs(role, "", "namespaces")
    assert namespaces == {"get", "list", "create"}
