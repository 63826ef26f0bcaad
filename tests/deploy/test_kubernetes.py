"""deploy/kubernetes/: every variant applied by the real `kubectl apply -k` to the simulator,
and what running DM there needs of it."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import requests

from manager.locate import DEFAULT_PORTS, discover_service_url
from tests.deploy.conftest import DEPLOY, DESIGN_PORTS, build, find, of_kind
from tests.dmcli.runner import dm_json
from tests.support import kubectl

ROOT = DEPLOY.parent
EXAMPLES = ROOT / "examples"
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
    "ConfigMap", "Secret", "Service", "Pod", "PersistentVolumeClaim", "Deployment",
    "StatefulSet", "DaemonSet", "Job", "CronJob", "Ingress", "NetworkPolicy",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "ServiceAccount",
    "ReplicationController", "ReplicaSet",
}
# A configuration may create the namespace it deploys into; DM never deletes one.
NAMESPACE_VERBS = {"get", "list", "create"}


def live(simulator, kind: str, name: str, namespace: str | None = "dm") -> dict:
    flags = ["-n", namespace] if namespace else []
    result = kubectl(simulator.kubeconfig, *flags, "get", kind, name, "-o", "json")
    return json.loads(result.stdout)


def pod_spec(workload: dict) -> dict:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


def env_of(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}


def test_apply_k_stores_every_object_of_the_variant(applied, manifests):
    for item in manifests:
        namespace = item["metadata"].get("namespace")
        stored = live(applied, item["kind"].lower(), item["metadata"]["name"], namespace)
        assert stored["metadata"]["uid"]
    assert {item["metadata"].get("namespace") for item in manifests} == {"dm", None}


@pytest.mark.parametrize("service_name", sorted(DESIGN_PORTS))
def test_service_exposes_its_deployment_on_the_design_port(applied, service_name):
    service = live(applied, "service", service_name)
    deployment = live(applied, "deployment", DEPLOYMENTS[service_name])
    (port,) = service["spec"]["ports"]
    assert port["port"] == DESIGN_PORTS[service_name]
    # Port name "http" gives the SRV record _http._tcp.<service> that discovery reads.
    assert port["name"] == "http"
    assert service["spec"]["selector"].items() <= pod_labels(deployment).items()
    (container,) = pod_spec(deployment)["containers"]
    (container_port,) = container["ports"]
    assert container_port["name"] == port["targetPort"]
    assert container_port["containerPort"] == DESIGN_PORTS[service_name]
    command = container["command"]
    assert command[command.index("--port") + 1] == str(DESIGN_PORTS[service_name])
    assert command[command.index("--host") + 1] == "0.0.0.0"


@pytest.mark.parametrize("service_name", ["expander-service", "resourcifier-service"])
def test_manager_discovers_the_services_from_kubernetes_variables(applied, service_name):
    service = live(applied, "service", service_name)
    prefix = service_name.upper().replace("-", "_")
    # The variables Kubernetes injects into pods created after the Service.
    environ = {
        f"{prefix}_SERVICE_HOST": service["spec"]["clusterIP"],
        f"{prefix}_SERVICE_PORT": str(service["spec"]["ports"][0]["port"]),
    }
    url = discover_service_url(service_name, None, DEFAULT_PORTS[service_name], environ)
    assert url == f"http://{service['spec']['clusterIP']}:{DESIGN_PORTS[service_name]}"


def test_manager_is_not_told_the_service_urls_and_comes_after_them(manifests):
    (container,) = pod_spec(find(manifests, "Deployment", "manager"))["containers"]
    assert not env_of(container).keys() & {"DM_EXPANDER_URL", "DM_RESOURCIFIER_URL"}
    # Service variables are injected only into pods created after the Service.
    order = [(item["kind"], item["metadata"]["name"]) for item in manifests]
    manager = order.index(("Deployment", "manager"))
    assert order.index(("Service", "expander-service")) < manager
    assert order.index(("Service", "resourcifier-service")) < manager


@pytest.mark.parametrize("name", ["manager", "expander", "resourcifier"])
def test_probes_hit_paths_the_running_service_answers(stack, name):
    (container,) = pod_spec(find(build("base"), "Deployment", name))["containers"]
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert liveness == {"path": "/healthz", "port": "http"}
    assert readiness == {"path": "/readyz", "port": "http"}
    url = getattr(stack, name)
    for probe in (liveness, readiness):
        assert requests.get(url + probe["path"], timeout=10).status_code == 200


def test_every_workload_has_probes_limits_and_runs_non_root_read_only(manifests):
    workloads = of_kind(manifests, "Deployment", "StatefulSet")
    assert workloads
    for workload in workloads:
        name = workload["metadata"]["name"]
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            assert container["livenessProbe"] and container["readinessProbe"], name
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, name
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            volumes = {volume["name"] for volume in pod.get("volumes", [])}
            claims = {claim["metadata"]["name"]
                      for claim in workload["spec"].get("volumeClaimTemplates", [])}
            assert set(mounts.values()) <= volumes | claims, name
            assert "/tmp" in mounts, name


def test_dm_images_are_the_one_scripts_image_sh_builds(manifests):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    script = (ROOT / "scripts" / "image.sh").read_text()
    assert 'IMAGE="deployment-manager:$version"' in script
    images = {
        container["image"]
        for workload in of_kind(manifests, "Deployment")
        for container in pod_spec(workload)["containers"]
    }
    assert images == {f"deployment-manager:{version}"}


@pytest.mark.parametrize("variant", ["base", "postgresql"], indirect=True)
def test_ha_managers_share_postgresql_from_a_secret_with_no_volume(manifests):
    deployment = find(manifests, "Deployment", "manager")
    assert deployment["spec"]["replicas"] >= 2
    pod = pod_spec(deployment)
    (container,) = pod["containers"]
    url = env_of(container)["DM_DATABASE_URL"]
    assert url["valueFrom"]["secretKeyRef"] == {"name": "dm-database", "key": "database-url"}
    assert not [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    spread = pod["topologySpreadConstraints"]
    assert {item["topologyKey"] for item in spread} == {
        "kubernetes.io/hostname", "topology.kubernetes.io/zone"}
    assert all(item["labelSelector"]["matchLabels"].items() <= pod_labels(deployment).items()
               for item in spread)
    (budget,) = of_kind(manifests, "PodDisruptionBudget")
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels(deployment).items()
    assert 1 <= budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


@pytest.mark.parametrize("variant", ["sqlite"], indirect=True)
def test_sqlite_alternative_is_one_manager_on_its_own_volume(manifests):
    deployment = find(manifests, "Deployment", "manager")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = pod_spec(deployment)
    (container,) = pod["containers"]
    assert env_of(container)["DM_DATABASE_URL"] == {
        "name": "DM_DATABASE_URL", "value": "sqlite:////data/dm.sqlite"}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    claim = volumes[mounts["/data"]]["persistentVolumeClaim"]["claimName"]
    assert find(manifests, "PersistentVolumeClaim", claim)["spec"]["accessModes"] == [
        "ReadWriteOnce"]
    assert of_kind(manifests, "PodDisruptionBudget") == []


def test_tokens_come_from_secrets_and_are_required(manifests):
    for name in ("manager", "expander", "resourcifier"):
        (container,) = pod_spec(find(manifests, "Deployment", name))["containers"]
        env = env_of(container)
        assert env["DM_INTERNAL_TOKEN"]["valueFrom"]["secretKeyRef"] == {
            "name": "dm-tokens", "key": "internal-token"}
    (manager,) = pod_spec(find(manifests, "Deployment", "manager"))["containers"]
    assert env_of(manager)["DM_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {
        "name": "dm-tokens", "key": "api-token"}


def policies_selecting(manifests: list[dict], labels: dict) -> list[dict]:
    return [
        policy for policy in of_kind(manifests, "NetworkPolicy")
        if policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ]


def test_every_service_is_covered_by_an_ingress_policy(manifests):
    services = of_kind(manifests, "Service")
    assert len(services) >= 3
    for service in services:
        selected = policies_selecting(manifests, service["spec"]["selector"])
        assert [p for p in selected if "Ingress" in p["spec"]["policyTypes"]], (
            service["metadata"]["name"])


def test_only_the_manager_reaches_the_expander_and_resourcifier(manifests):
    manager_labels = pod_labels(find(manifests, "Deployment", "manager"))
    for name, port in (("expander", 8081), ("resourcifier", 8082)):
        (policy,) = policies_selecting(manifests, pod_labels(find(manifests, "Deployment", name)))
        (rule,) = policy["spec"]["ingress"]
        (source,) = rule["from"]
        assert source.keys() == {"podSelector"}
        assert source["podSelector"]["matchLabels"].items() <= manager_labels.items()
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]


def test_the_expander_has_no_egress(manifests):
    (policy,) = policies_selecting(manifests, pod_labels(find(manifests, "Deployment", "expander")))
    assert "Egress" in policy["spec"]["policyTypes"]
    assert policy["spec"]["egress"] == []


def test_the_manager_answers_labelled_clients_on_its_port_only(manifests):
    labels = pod_labels(find(manifests, "Deployment", "manager"))
    (policy,) = policies_selecting(manifests, labels)
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {}, "podSelector": {
        "matchLabels": {"deployment-manager.io/client": "true"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8080}]


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


def _granted(role: dict) -> dict[tuple[str, str], set[str]]:
    """(API group, resource) -> verbs the role allows."""
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    return granted


@pytest.fixture(scope="module")
def deployed_kinds(stack) -> set[str]:
    """The kinds the resourcifier applies: those of the examples and common ones."""
    kinds = set(COMMON_KINDS)
    for config in (
        EXAMPLES / "guestbook" / "guestbook.yaml",
        EXAMPLES / "service-endpoint" / "service-endpoint.yaml",
    ):
        expansion = dm_json(stack.manager, "expand", str(config))
        kinds |= {item["properties"]["kind"] for item in expansion["config"]["resources"]}
    return kinds


@pytest.mark.parametrize("variant", ["base"], indirect=True)
def test_resourcifier_rbac_is_exactly_what_it_uses(applied, deployed_kinds):
    role = live(applied, "clusterrole", "dm-resourcifier", None)
    binding = live(applied, "clusterrolebinding", "dm-resourcifier", None)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "dm-resourcifier"}
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "resourcifier", "namespace": "dm"}]
    assert pod_spec(live(applied, "deployment", "resourcifier"))["serviceAccountName"] == (
        "resourcifier")

    resources = _api_resources(applied)
    expected = {resources[kind]: RESOURCIFIER_VERBS for kind in deployed_kinds}
    expected[resources["Namespace"]] = NAMESPACE_VERBS
    assert _granted(role) == expected


@pytest.mark.parametrize("variant", ["base"], indirect=True)
def test_only_the_resourcifier_mounts_a_service_account_token(manifests):
    for name in ("manager", "expander"):
        pod = pod_spec(find(manifests, "Deployment", name))
        assert pod["automountServiceAccountToken"] is False
    assert "automountServiceAccountToken" not in pod_spec(
        find(manifests, "Deployment", "resourcifier"))


def test_every_rbac_rule_says_why():
    lines = (DEPLOY / "kubernetes" / "base" / "resourcifier.yaml").read_text().splitlines()
    rules = [index for index, line in enumerate(lines) if line.startswith("- apiGroups:")]
    assert len(rules) >= 2
    for index in rules:
        assert lines[index - 1].startswith("#"), lines[index]


def test_kustomize_directories_are_the_documented_ones():
    assert Path(DEPLOY / "kubernetes" / "base" / "kustomization.yaml").is_file()
    text = (ROOT / "docs" / "running.md").read_text()
    for command in ("kubectl apply -k deploy/kubernetes/base",
                    "kubectl apply -k deploy/kubernetes/overlays/postgresql",
                    "kubectl apply -k deploy/kubernetes/overlays/sqlite"):
        assert command in text
