"""The real kubectl against the simulator: the everyday commands and the errors they print."""

from __future__ import annotations

import ipaddress
import subprocess
import textwrap

import pytest

from tests.support import wait_until

DEPLOYMENT = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {{tier: front}}
    spec:
      replicas: {replicas}
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec:
          containers:
          - name: web
            image: {image}
            ports: [{{containerPort: 80}}]
    """)


def configmap(name: str, data: str = "{a: '1'}", labels: str = "{}") -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, labels: {labels}}}\n"
            f"data: {data}\n")


def test_kubectl_talks_to_the_simulator_and_sees_the_initial_namespaces(sim):
    names = sim.kubectl("get", "namespaces", "-o", "name").stdout.split()
    assert {"namespace/default", "namespace/kube-system", "namespace/kube-public"} <= set(names)
    assert "Server Version: v1.32" in sim.kubectl("version").stdout


def test_create_then_get_as_json_and_yaml(sim, namespace):
    sim.kubectl("create", "-n", namespace, "-f", "-", stdin=configmap("settings"))
    obj = sim.get_json("configmap", "settings", "-n", namespace)
    assert obj["data"] == {"a": "1"}
    metadata = obj["metadata"]
    assert metadata["namespace"] == namespace
    assert metadata["uid"] and metadata["creationTimestamp"].endswith("Z")
    assert int(metadata["resourceVersion"]) > 0
    yaml_text = sim.kubectl("get", "cm", "settings", "-n", namespace, "-o", "yaml").stdout
    assert "name: settings" in yaml_text and "a: \"1\"" in yaml_text


def test_typed_create_commands_store_what_they_describe(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("create", "configmap", "c", "--from-literal=k=v", *ns)
    sim.kubectl("create", "secret", "generic", "s", "--from-literal=password=hunter2", *ns)
    sim.kubectl("create", "serviceaccount", "robot", *ns)
    sim.kubectl("create", "deployment", "d", "--image=nginx:1.25", "--replicas=2", *ns)
    sim.kubectl("create", "service", "clusterip", "d", "--tcp=80:8080", *ns)
    assert sim.get_json("cm", "c", *ns)["data"] == {"k": "v"}
    assert sim.get_json("secret", "s", *ns)["data"] == {"password": "aHVudGVyMg=="}
    assert sim.get_json("sa", "robot", *ns)["metadata"]["name"] == "robot"
    deployment = sim.get_json("deploy", "d", *ns)
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    port = sim.get_json("svc", "d", *ns)["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")


def test_objects_get_server_fields(sim, namespace):
    sim.kubectl("apply", "-n", namespace, "-f", "-",
                stdin=DEPLOYMENT.format(replicas=3, image="nginx"))
    deployment = sim.get_json("deployment", "web", "-n", namespace)
    assert deployment["metadata"]["generation"] == 1
    sim.kubectl("create", "service", "clusterip", "web", "--tcp=80", "-n", namespace)
    service = sim.get_json("service", "web", "-n", namespace)
    assert ipaddress.ip_address(service["spec"]["clusterIP"]) in ipaddress.ip_network(
        "10.96.0.0/12")


def test_apply_updates_in_place_and_bumps_generation_only_for_spec_changes(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("apply", *ns, "-f", "-", stdin=DEPLOYMENT.format(replicas=1, image="nginx:1"))
    first = sim.get_json("deploy", "web", *ns)
    out = sim.kubectl("apply", *ns, "-f", "-", stdin=DEPLOYMENT.format(replicas=1,
                                                                       image="nginx:1"))
    assert "unchanged" in out.stdout
    sim.kubectl("apply", *ns, "-f", "-", stdin=DEPLOYMENT.format(replicas=1, image="nginx:2"))
    second = sim.get_json("deploy", "web", *ns)
    assert second["metadata"]["uid"] == first["metadata"]["uid"]
    assert second["metadata"]["generation"] == 2
    assert second["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert second["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80}]
    sim.kubectl("label", "deploy", "web", "extra=yes", *ns)
    assert sim.get_json("deploy", "web", *ns)["metadata"]["generation"] == 2


def test_apply_removes_keys_dropped_from_the_configuration(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("apply", *ns, "-f", "-", stdin=configmap("cfg", "{a: '1', b: '2'}"))
    sim.kubectl("apply", *ns, "-f", "-", stdin=configmap("cfg", "{a: '1'}"))
    assert sim.get_json("cm", "cfg", *ns)["data"] == {"a": "1"}


def test_server_side_apply_creates_updates_and_records_the_manager(sim, namespace):
    ns = ("-n", namespace)
    out = sim.kubectl("apply", "--server-side", *ns, "-f", "-",
                      stdin=configmap("ssa", "{a: '1', b: '2'}"))
    assert "serverside-applied" in out.stdout
    sim.kubectl("apply", "--server-side", *ns, "-f", "-", stdin=configmap("ssa", "{a: '3'}"))
    obj = sim.get_json("cm", "ssa", *ns, "--show-managed-fields")
    assert obj["data"] == {"a": "3"}
    managers = {m["manager"]: m for m in obj["metadata"]["managedFields"]}
    assert managers["kubectl"]["operation"] == "Apply"
    assert "f:a" in managers["kubectl"]["fieldsV1"]["f:data"]


def test_server_side_apply_reports_conflicts_with_another_manager(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("apply", "--server-side", "--field-manager=alice", *ns, "-f", "-",
                stdin=configmap("shared", "{a: '1'}"))
    clash = sim.kubectl("apply", "--server-side", "--field-manager=bob", *ns, "-f", "-",
                        stdin=configmap("shared", "{a: '2'}"), check=False)
    assert clash.returncode != 0
    assert 'conflict with "alice"' in clash.stderr and ".data.a" in clash.stderr
    assert sim.get_json("cm", "shared", *ns)["data"] == {"a": "1"}
    sim.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=bob", *ns,
                "-f", "-", stdin=configmap("shared", "{a: '2'}"))
    assert sim.get_json("cm", "shared", *ns)["data"] == {"a": "2"}


def test_replace_with_a_stale_resource_version_is_a_conflict(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("create", *ns, "-f", "-", stdin=configmap("rv", "{a: '1'}"))
    stale = sim.kubectl("get", "cm", "rv", *ns, "-o", "yaml").stdout
    sim.kubectl("replace", *ns, "-f", "-", stdin=stale.replace('a: "1"', 'a: "2"'))
    again = sim.kubectl("replace", *ns, "-f", "-", stdin=stale.replace('a: "1"', 'a: "3"'),
                        check=False)
    assert again.returncode != 0
    assert ('Operation cannot be fulfilled on configmaps "rv": the object has been modified; '
            "please apply your changes to the latest version and try again") in again.stderr
    assert sim.get_json("cm", "rv", *ns)["data"] == {"a": "2"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=front", {"a", "b"}),
        ("tier==front", {"a", "b"}),
        ("tier!=front", {"c", "d"}),
        ("tier in (back, edge)", {"c"}),
        ("tier notin (front)", {"c", "d"}),
        ("tier", {"a", "b", "c"}),
        ("!tier", {"d"}),
        ("tier=front,color=red", {"a"}),
    ],
)
def test_list_filters_by_label_selector(sim, selector, expected, labelled):
    out = sim.kubectl("get", "cm", "-n", labelled, "-l", selector, "-o", "name").stdout
    assert {line.split("/")[1] for line in out.split()} == expected


@pytest.fixture(scope="module")
def labelled(sim) -> str:
    sim.kubectl("create", "namespace", "labelled")
    docs = [
        configmap("a", labels="{tier: front, color: red}"),
        configmap("b", labels="{tier: front}"),
        configmap("c", labels="{tier: back}"),
        configmap("d"),
    ]
    sim.kubectl("apply", "-n", "labelled", "-f", "-", stdin="---\n".join(docs))
    return "labelled"


def test_list_filters_by_field_selector(sim, labelled):
    out = sim.kubectl("get", "cm", "-A", "--field-selector",
                      "metadata.name=b,metadata.namespace=labelled", "-o", "name").stdout
    assert out.split() == ["configmap/b"]


def test_delete_removes_the_object_and_wait_for_delete_returns(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("create", "configmap", "gone", *ns)
    assert 'configmap "gone" deleted' in sim.kubectl("delete", "cm", "gone", *ns).stdout
    missing = sim.kubectl("get", "cm", "gone", *ns, check=False)
    assert 'configmaps "gone" not found' in missing.stderr
    sim.kubectl("wait", "--for=delete", "cm/gone", "--timeout=5s", *ns)


def test_wait_for_delete_follows_a_deletion_through_a_watch(sim, namespace):
    ns = ("-n", namespace)
    sim.kubectl("create", "configmap", "watched", *ns)
    waiter = subprocess.Popen(
        sim.kubectl_command("wait", "--for=delete", "cm/watched", "--timeout=20s", *ns),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    wait_until(lambda: sim.control.requests()["verbs"].get("watch"), timeout=10)
    sim.kubectl("delete", "cm", "watched", *ns)
    out, err = waiter.communicate(timeout=20)
    assert waiter.returncode == 0, err
    assert "condition met" in out


def test_server_dry_run_validates_but_stores_nothing(sim, namespace):
    ns = ("-n", namespace)
    out = sim.kubectl("apply", "--dry-run=server", *ns, "-f", "-", stdin=configmap("dry"))
    assert "(server dry run)" in out.stdout
    assert "not found" in sim.kubectl("get", "cm", "dry", *ns, check=False).stderr
    bad = sim.kubectl("apply", "--dry-run=server", *ns, "-f", "-", stdin=configmap("Bad_Name"),
                      check=False)
    assert "is invalid" in bad.stderr
    sim.kubectl("create", *ns, "-f", "-", stdin=configmap("kept", "{a: '1'}"))
    sim.kubectl("apply", "--dry-run=server", *ns, "-f", "-", stdin=configmap("kept", "{a: '2'}"))
    assert sim.get_json("cm", "kept", *ns)["data"] == {"a": "1"}
    sim.kubectl("delete", "--dry-run=server", "cm", "kept", *ns)
    assert sim.get_json("cm", "kept", *ns)["data"] == {"a": "1"}


def test_objects_need_an_existing_namespace(sim):
    result = sim.kubectl("create", "configmap", "x", "-n", "no-such-ns", check=False)
    assert result.returncode != 0
    assert 'namespaces "no-such-ns" not found' in result.stderr
    assert "No resources found" in sim.kubectl("get", "cm", "-A", "--field-selector",
                                               "metadata.namespace=no-such-ns").stderr


def test_deleting_a_namespace_deletes_its_objects(sim):
    sim.kubectl("create", "namespace", "doomed")
    sim.kubectl("create", "configmap", "inside", "-n", "doomed")
    sim.kubectl("delete", "namespace", "doomed")
    sim.kubectl("create", "namespace", "doomed")
    assert "not found" in sim.kubectl("get", "cm", "inside", "-n", "doomed", check=False).stderr


def test_creating_twice_is_already_exists(sim, namespace):
    sim.kubectl("create", "configmap", "twice", "-n", namespace)
    again = sim.kubectl("create", "configmap", "twice", "-n", namespace, check=False)
    assert again.returncode != 0
    assert 'configmaps "twice" already exists' in again.stderr


INVALID = {
    "bad name": (configmap("Bad_Name"), 'ConfigMap "Bad_Name" is invalid: metadata.name'),
    "no name": ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
                "name or generateName is required"),
    "selector mismatch": (
        DEPLOYMENT.format(replicas=1, image="nginx").replace(
            "metadata: {labels: {app: web}}", "metadata: {labels: {app: other}}"),
        "`selector` does not match template `labels`",
    ),
    "container without image": (
        DEPLOYMENT.format(replicas=1, image="nginx").replace(
            "image: nginx", "imagePullPolicy: Always"),
        "spec.template.spec.containers[0].image: Required value",
    ),
    "service port without port": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: nop}\n"
        "spec: {ports: [{targetPort: 80}]}\n",
        "spec.ports[0].port: Required value",
    ),
    "service port out of range": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: far}\n"
        "spec: {ports: [{port: 70000}]}\n",
        "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ),
    "container port out of range": (
        DEPLOYMENT.format(replicas=1, image="nginx").replace(
            "containerPort: 80", "containerPort: 0"),
        "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 0: must be "
        "between 1 and 65535, inclusive",
    ),
}


@pytest.mark.parametrize("case", INVALID)
def test_invalid_objects_are_rejected_with_422_and_not_stored(sim, namespace, case):
    manifest, message = INVALID[case]
    result = sim.kubectl("create", "-n", namespace, "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0
    assert "is invalid" in result.stderr
    assert message in result.stderr
    listed = sim.kubectl("get", "cm,deploy,svc", "-n", namespace, "-o", "name").stdout
    assert listed.strip() == ""


def test_unknown_top_level_field_is_refused_under_strict_validation(sim, namespace):
    manifest = configmap("typo") + "spek: {}\n"
    result = sim.kubectl("create", "-n", namespace, "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0
    assert 'strict decoding error: unknown field "spek"' in result.stderr
    assert "not found" in sim.kubectl("get", "cm", "typo", "-n", namespace, check=False).stderr
    warned = sim.kubectl("create", "--validate=warn", "-n", namespace, "-f", "-", stdin=manifest)
    assert 'unknown field "spek"' in warned.stderr
    assert "spek" not in sim.get_json("cm", "typo", "-n", namespace)


DM_LIKE = textwrap.dedent("""\
    apiVersion: v1
    kind: ServiceAccount
    metadata: {name: robot}
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: Role
    metadata: {name: reader}
    rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata: {name: reader}
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
    subjects: [{kind: ServiceAccount, name: robot}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: no-egress}
    spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: []}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          serviceAccountName: robot
          securityContext: {runAsNonRoot: true}
          containers:
          - name: web
            image: web:1
            ports: [{name: http, containerPort: 8080}]
            env: [{name: KEEP, value: "1"}, {name: DROP, value: "2"}]
            readinessProbe: {httpGet: {path: /readyz, port: http}}
            resources: {requests: {cpu: 100m}, limits: {memory: 128Mi}}
            securityContext: {readOnlyRootFilesystem: true}
          - name: sidecar
            image: proxy:1
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: web}
    spec: {selector: {app: web}, ports: [{name: http, port: 80, targetPort: http}]}
    """)
SLIMMED = DM_LIKE.replace('{name: DROP, value: "2"}', "").replace(
    ", ]", "]").replace("      - name: sidecar\n        image: proxy:1\n", "")


def _containers(sim, namespace: str) -> list[dict]:
    return sim.get_json("deploy", "web", "-n", namespace)["spec"]["template"]["spec"]["containers"]


def test_service_manifests_validate_with_server_dry_run_and_apply(sim, namespace):
    ns = ("-n", namespace)
    dry = sim.kubectl("apply", "--dry-run=server", *ns, "-f", "-", stdin=DM_LIKE)
    assert dry.stdout.count("(server dry run)") == 6
    assert sim.kubectl("get", "sa,role,rolebinding,netpol,deploy,svc", *ns, "-o",
                       "name").stdout.strip() == ""
    sim.kubectl("apply", *ns, "-f", "-", stdin=DM_LIKE)
    assert "unchanged" in sim.kubectl("apply", *ns, "-f", "-", stdin=DM_LIKE).stdout


@pytest.mark.parametrize("mode", [[], ["--server-side"]])
def test_apply_drops_list_items_removed_from_the_configuration(sim, namespace, mode):
    sim.kubectl("apply", *mode, "-n", namespace, "-f", "-", stdin=DM_LIKE)
    sim.kubectl("apply", *mode, "-n", namespace, "-f", "-", stdin=SLIMMED)
    containers = _containers(sim, namespace)
    assert [c["name"] for c in containers] == ["web"]
    assert containers[0]["env"] == [{"name": "KEEP", "value": "1"}]
    assert containers[0]["ports"] == [{"name": "http", "containerPort": 8080}]


def test_delete_f_may_list_the_namespace_before_its_objects(sim):
    manifest = "apiVersion: v1\nkind: Namespace\nmetadata: {name: bundle}\n---\n" + configmap(
        "inside").replace("name: inside,", "name: inside, namespace: bundle,")
    sim.kubectl("apply", "-f", "-", stdin=manifest)
    result = sim.kubectl("delete", "-f", "-", stdin=manifest)
    assert 'configmap "inside" deleted' in result.stdout
    assert "not found" in sim.kubectl("get", "ns", "bundle", check=False).stderr


def test_a_terminating_namespace_refuses_new_objects(sim):
    sim.kubectl("create", "namespace", "closing")
    sim.kubectl("create", "configmap", "holdout", "-n", "closing")
    sim.kubectl("delete", "namespace", "closing", "--wait=false")
    refused = sim.kubectl("create", "configmap", "late", "-n", "closing", check=False)
    assert "because it is being terminated" in refused.stderr
    wait_until(lambda: sim.api("GET", "/api/v1/namespaces/closing").status_code == 404)
    assert sim.api("GET", "/api/v1/namespaces/closing/configmaps/holdout").status_code == 404


def test_typos_inside_a_deployment_spec_are_unknown_fields(sim, namespace):
    manifest = DEPLOYMENT.format(replicas=1, image="nginx").replace(
        "replicas: 1", "replica: 1").replace("image: nginx", "imagee: nginx")
    result = sim.kubectl("create", "-n", namespace, "-f", "-", stdin=manifest, check=False)
    assert result.returncode != 0
    assert 'unknown field "spec.replica"' in result.stderr
    assert 'unknown field "spec.template.spec.containers[0].imagee"' in result.stderr
    assert "not found" in sim.kubectl("get", "deploy", "web", "-n", namespace,
                                      check=False).stderr


def test_a_list_file_passes_kubectls_client_side_validation(sim, namespace):
    listed = ("apiVersion: v1\nkind: List\nitems:\n"
              "- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}, data: {a: '1'}}\n"
              "- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}, data: {b: '2'}}\n")
    out = sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=listed)
    assert out.stdout.split() == ["configmap/one", "created", "configmap/two", "created"]


def test_openapi_v2_is_served_as_json_too(sim):
    document = sim.api("GET", "/openapi/v2").json()
    assert (document["swagger"], document["info"]["title"]) == ("2.0", "Kubernetes")


def test_secret_data_that_is_not_base64_is_invalid(sim, namespace):
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {token: 'not base64!'}\n"
    out = sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=secret, check=False)
    assert out.stderr.strip() == (
        'The Secret "s" is invalid: data[token]: Invalid value: "<secret contents redacted>": '
        "must be base64-encoded")


def test_a_tls_secret_needs_its_certificate_and_key(sim, namespace):
    secret = ("apiVersion: v1\nkind: Secret\nmetadata: {name: cert}\ntype: kubernetes.io/tls\n"
              "stringData: {tls.crt: pem}\n")
    out = sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=secret, check=False)
    assert out.stderr.strip() == 'The Secret "cert" is invalid: data[tls.key]: Required value'
