"""The simulator's controllers, seen through the real kubectl: workloads get pods that become
ready, status and conditions follow, rollouts replace pods, deletes propagate, and image
rules keep pods from ever getting ready."""

from __future__ import annotations

import ipaddress
import subprocess
import threading

import pytest
import yaml

from kubesim.controllers import Settings
from kubesim.kubeconfig import write_kubeconfig
from kubesim.server import make_server
from kubesim.simulator import Simulator
from tests.support import wait_until


def deployment(name: str = "web", replicas: int = 2, image: str = "nginx:1.25",
               **spec: object) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": image,
                                                  "ports": [{"containerPort": 80,
                                                             "name": "http"}]}]}},
            **spec,
        },
    }


def apply(sim, namespace: str, *objects: dict) -> None:
    sim.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump_all(objects))


def pods(sim, namespace: str, selector: str = "") -> list[dict]:
    args = ("-l", selector) if selector else ()
    return sim.get_json("pods", "-n", namespace, *args)["items"]


def condition(obj: dict, kind: str) -> dict:
    return next(c for c in obj["status"].get("conditions") or [] if c["type"] == kind)


def rollout_status(sim, namespace: str, target: str, check: bool = True):
    return sim.kubectl("rollout", "status", target, "-n", namespace, "--timeout=30s",
                       check=check)


def test_a_deployment_rolls_out_and_reports_status_as_a_cluster_does(sim, namespace):
    apply(sim, namespace, deployment(replicas=3))
    out = rollout_status(sim, namespace, "deployment/web")
    assert 'deployment "web" successfully rolled out' in out.stdout
    web = sim.get_json("deployment", "web", "-n", namespace)
    status = {k: v for k, v in web["status"].items() if k != "conditions"}
    assert status == {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
                      "readyReplicas": 3, "availableReplicas": 3}
    assert (condition(web, "Available")["status"],
            condition(web, "Available")["reason"]) == ("True", "MinimumReplicasAvailable")
    assert condition(web, "Progressing")["reason"] == "NewReplicaSetAvailable"
    replicaset = sim.get_json("replicasets", "-n", namespace)["items"][0]
    hash_label = replicaset["metadata"]["labels"]["pod-template-hash"]
    assert replicaset["metadata"]["name"] == f"web-{hash_label}"
    assert replicaset["metadata"]["ownerReferences"][0]["uid"] == web["metadata"]["uid"]
    running = pods(sim, namespace)
    assert len(running) == 3
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in running} == {
        replicaset["metadata"]["name"]}
    assert all(p["metadata"]["name"].startswith(f"web-{hash_label}-") for p in running)


def test_kubectl_get_pods_shows_them_running(sim, namespace):
    apply(sim, namespace, deployment(replicas=2))
    rollout_status(sim, namespace, "deployment/web")
    lines = sim.kubectl("get", "pods", "-n", namespace).stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [line.split()[1:4] for line in lines[1:]] == [["1/1", "Running", "0"]] * 2


def test_kubectl_wait_for_available_returns_once_pods_are_ready(sim, namespace):
    apply(sim, namespace, deployment(replicas=2))
    out = sim.kubectl("wait", "--for=condition=Available", "deployment/web", "-n", namespace,
                      "--timeout=30s")
    assert out.stdout.strip() == "deployment.apps/web condition met"
    assert sim.get_json("deployment", "web", "-n", namespace)["status"]["readyReplicas"] == 2


def test_a_template_change_makes_a_new_replicaset_that_replaces_the_pods(sim, namespace):
    apply(sim, namespace, deployment(replicas=2))
    rollout_status(sim, namespace, "deployment/web")
    before = {p["metadata"]["name"] for p in pods(sim, namespace)}
    sim.kubectl("set", "image", "deployment/web", "main=nginx:1.27", "-n", namespace)
    rollout_status(sim, namespace, "deployment/web")
    after = pods(sim, namespace)
    assert len(after) == 2 and not before & {p["metadata"]["name"] for p in after}
    assert {p["spec"]["containers"][0]["image"] for p in after} == {"nginx:1.27"}
    sets = {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]:
            rs["spec"]["replicas"] for rs in sim.get_json("rs", "-n", namespace)["items"]}
    assert sets == {"1": 0, "2": 2}
    web = sim.get_json("deployment", "web", "-n", namespace)
    assert (web["metadata"]["generation"], web["status"]["observedGeneration"]) == (2, 2)


def test_rollout_undo_brings_back_the_previous_replicaset(sim, namespace):
    apply(sim, namespace, deployment(replicas=1))
    rollout_status(sim, namespace, "deployment/web")
    first = sim.get_json("rs", "-n", namespace)["items"][0]["metadata"]["name"]
    sim.kubectl("set", "image", "deployment/web", "main=nginx:1.27", "-n", namespace)
    rollout_status(sim, namespace, "deployment/web")
    sim.kubectl("rollout", "undo", "deployment/web", "-n", namespace)
    rollout_status(sim, namespace, "deployment/web")
    sets = {rs["metadata"]["name"]: rs["spec"]["replicas"]
            for rs in sim.get_json("rs", "-n", namespace)["items"]}
    assert len(sets) == 2 and sets[first] == 1


def test_scaling_adds_and_removes_pods(sim, namespace):
    apply(sim, namespace, deployment(replicas=1))
    rollout_status(sim, namespace, "deployment/web")
    sim.kubectl("scale", "deployment/web", "--replicas=4", "-n", namespace)
    rollout_status(sim, namespace, "deployment/web")
    assert len(pods(sim, namespace)) == 4
    sim.kubectl("scale", "deployment/web", "--replicas=1", "-n", namespace)
    wait_until(lambda: len(pods(sim, namespace)) == 1)
    rollout_status(sim, namespace, "deployment/web")


def test_delete_in_the_foreground_waits_for_the_pods(sim, namespace):
    apply(sim, namespace, deployment(replicas=2))
    rollout_status(sim, namespace, "deployment/web")
    out = sim.kubectl("delete", "deployment/web", "--cascade=foreground", "-n", namespace)
    assert out.stdout.strip() == 'deployment.apps "web" deleted'
    # kubectl returned only once the Deployment was gone, which it is only without pods.
    assert pods(sim, namespace) == []
    assert sim.get_json("rs", "-n", namespace)["items"] == []


def test_delete_in_the_background_lets_the_collector_remove_the_pods(sim, namespace):
    apply(sim, namespace, deployment(replicas=2))
    rollout_status(sim, namespace, "deployment/web")
    sim.kubectl("delete", "deployment/web", "-n", namespace)
    wait_until(lambda: pods(sim, namespace) == [])
    assert sim.get_json("rs", "-n", namespace)["items"] == []


def test_delete_with_orphan_keeps_the_replicaset_until_a_new_deployment_adopts_it(
        sim, namespace):
    apply(sim, namespace, deployment(replicas=1))
    rollout_status(sim, namespace, "deployment/web")
    (pod,) = pods(sim, namespace)
    sim.kubectl("delete", "deployment/web", "--cascade=orphan", "-n", namespace)
    replicaset = sim.get_json("rs", "-n", namespace)["items"][0]
    assert "ownerReferences" not in replicaset["metadata"]
    apply(sim, namespace, deployment(replicas=1))
    rollout_status(sim, namespace, "deployment/web")
    web = sim.get_json("deployment", "web", "-n", namespace)
    (adopted,) = sim.get_json("rs", "-n", namespace)["items"]
    assert adopted["metadata"]["ownerReferences"][0]["uid"] == web["metadata"]["uid"]
    assert [p["metadata"]["uid"] for p in pods(sim, namespace)] == [pod["metadata"]["uid"]]


def test_a_never_ready_image_shows_image_pull_back_off_and_the_rollout_times_out(sim, namespace):
    sim.control.never_ready("registry.example/broken:*")
    apply(sim, namespace, deployment(image="registry.example/broken:1",
                                     progressDeadlineSeconds=1))
    out = rollout_status(sim, namespace, "deployment/web", check=False)
    assert out.returncode == 1
    assert 'deployment "web" exceeded its progress deadline' in out.stderr
    lines = sim.kubectl("get", "pods", "-n", namespace).stdout.splitlines()[1:]
    assert [line.split()[1:3] for line in lines] == [["0/1", "ImagePullBackOff"]] * 2
    waiting = pods(sim, namespace)[0]["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "ImagePullBackOff",
                       "message": 'Back-off pulling image "registry.example/broken:1"'}
    web = sim.get_json("deployment", "web", "-n", namespace)
    assert condition(web, "Available")["status"] == "False"
    assert condition(web, "Progressing")["reason"] == "ProgressDeadlineExceeded"


def test_a_crash_looping_image_restarts_again_and_again(sim, namespace):
    sim.control.never_ready("crashy", reason="CrashLoopBackOff")
    apply(sim, namespace, deployment(replicas=1, image="crashy"))

    def restarts() -> int:
        found = pods(sim, namespace)
        return found and found[0]["status"]["containerStatuses"][0]["restartCount"]

    wait_until(lambda: restarts() >= 3)
    status = pods(sim, namespace)[0]["status"]
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1


def test_clearing_the_rules_lets_a_stuck_pod_start(sim, namespace):
    sim.control.never_ready("stuck:1")
    apply(sim, namespace, deployment(replicas=1, image="stuck:1"))
    wait_until(lambda: pods(sim, namespace)[0]["status"].get("containerStatuses", [{}])[0]
               .get("state", {}).get("waiting", {}).get("reason") == "ImagePullBackOff")
    sim.control.clear_faults()
    rollout_status(sim, namespace, "deployment/web")


def test_a_slow_image_starts_only_after_its_delay(sim, namespace):
    sim.control.slow_start("slow:*", 30)
    apply(sim, namespace, deployment(replicas=1, image="slow:1"))
    apply(sim, namespace, deployment(name="quick", replicas=1))
    rollout_status(sim, namespace, "deployment/quick")
    assert pods(sim, namespace, "app=web")[0]["status"]["phase"] == "Pending"


def test_image_rules_are_listed_and_a_bad_one_is_refused(sim):
    sim.control.never_ready("listed:*")
    assert {"image": "listed:*", "reason": "ImagePullBackOff", "startSeconds": None} in (
        sim.api("GET", "/_sim/faults").json())
    response = sim.api("POST", "/_sim/faults", json={"image": "x", "reason": "Sleepy"})
    assert response.status_code == 400
    assert response.json()["message"] == (
        '"reason" must be one of ImagePullBackOff, CrashLoopBackOff')
    response = sim.api("POST", "/_sim/faults", json={"image": "x"})
    assert response.json()["message"] == (
        'an image rule needs exactly one of "reason" and "startSeconds"')


@pytest.fixture(autouse=True)
def _no_rules_left(sim):
    yield
    sim.control.clear_faults()


def test_a_statefulset_gets_ordered_pods_and_bound_claims(sim, namespace):
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {
            "replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "template": {"metadata": {"labels": {"app": "db"}},
                         "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}}}],
        },
    }
    apply(sim, namespace, statefulset)
    out = rollout_status(sim, namespace, "statefulset/db")
    assert "partitioned roll out complete: 3 new pods have been updated" in out.stdout
    assert sorted(p["metadata"]["name"] for p in pods(sim, namespace)) == [
        "db-0", "db-1", "db-2"]
    claims = sim.get_json("pvc", "-n", namespace)["items"]
    assert sorted((c["metadata"]["name"], c["status"]["phase"]) for c in claims) == [
        ("data-db-0", "Bound"), ("data-db-1", "Bound"), ("data-db-2", "Bound")]
    db = sim.get_json("statefulset", "db", "-n", namespace)["status"]
    assert (db["readyReplicas"], db["currentRevision"]) == (3, db["updateRevision"])


def test_a_daemonset_runs_one_pod_on_the_node(sim, namespace):
    daemonset = {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}},
                 "template": {"metadata": {"labels": {"app": "agent"}},
                              "spec": {"containers": [{"name": "a", "image": "agent:1"}]}}},
    }
    apply(sim, namespace, daemonset)
    out = rollout_status(sim, namespace, "daemonset/agent")
    assert 'daemon set "agent" successfully rolled out' in out.stdout
    (pod,) = pods(sim, namespace)
    assert pod["spec"]["nodeName"] == sim.get_json("nodes")["items"][0]["metadata"]["name"]


def test_with_several_nodes_a_daemonset_runs_on_each_and_pods_spread(tmp_path):
    sim = Simulator(Settings(pod_start_seconds=0.05, nodes=3))
    sim.start()
    server = make_server("127.0.0.1", 0, sim)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "sim.kubeconfig"
    write_kubeconfig(kubeconfig, f"http://127.0.0.1:{server.server_address[1]}")

    def kubectl(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir",
                               str(tmp_path / "cache"), *args], input=stdin, check=True,
                              capture_output=True, text=True, timeout=60).stdout

    try:
        agent = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
                 "spec": {"selector": {"matchLabels": {"app": "agent"}},
                          "template": {"metadata": {"labels": {"app": "agent"}},
                                       "spec": {"containers": [{"name": "a", "image": "a"}]}}}}
        kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all([agent, deployment(replicas=3)]))
        kubectl("rollout", "status", "daemonset/agent", "--timeout=30s")
        kubectl("rollout", "status", "deployment/web", "--timeout=30s")

        def nodes(selector: str) -> list[str]:
            found = yaml.safe_load(kubectl("get", "pods", "-l", selector, "-o", "yaml"))
            return sorted(pod["spec"]["nodeName"] for pod in found["items"])

        every_node = ["sim-node-1", "sim-node-2", "sim-node-3"]
        assert nodes("app=agent") == every_node
        assert nodes("app=web") == every_node
    finally:
        server.shutdown()
        server.server_close()
        sim.stop()


def test_a_job_completes(sim, namespace):
    sim.kubectl("create", "job", "once", "--image=busybox", "-n", namespace)
    out = sim.kubectl("wait", "--for=condition=Complete", "job/once", "-n", namespace,
                      "--timeout=30s")
    assert out.stdout.strip() == "job.batch/once condition met"
    status = sim.get_json("job", "once", "-n", namespace)["status"]
    assert status["succeeded"] == 1 and "active" not in status
    assert pods(sim, namespace)[0]["status"]["phase"] == "Succeeded"


def test_a_job_whose_image_crashes_fails_after_its_backoff_limit(sim, namespace):
    sim.control.never_ready("failing:*", reason="CrashLoopBackOff")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad"},
           "spec": {"backoffLimit": 1, "template": {"spec": {
               "restartPolicy": "Never", "containers": [{"name": "x", "image": "failing:1"}]}}}}
    apply(sim, namespace, job)
    sim.kubectl("wait", "--for=condition=Failed", "job/bad", "-n", namespace, "--timeout=30s")
    bad = sim.get_json("job", "bad", "-n", namespace)
    assert bad["status"]["failed"] == 2
    assert condition(bad, "Failed")["reason"] == "BackoffLimitExceeded"


def test_a_service_lists_its_ready_pods_as_endpoints(sim, namespace):
    apply(sim, namespace, deployment(replicas=2))
    sim.kubectl("expose", "deployment/web", "--port=80", "--target-port=http", "-n", namespace)
    rollout_status(sim, namespace, "deployment/web")
    pod_ips = sorted(p["status"]["podIP"] for p in pods(sim, namespace))

    def endpoints() -> dict:
        found = sim.get_json("endpoints", "web", "-n", namespace)
        return found.get("subsets") and found

    subset = wait_until(endpoints)["subsets"][0]
    assert sorted(a["ip"] for a in subset["addresses"]) == pod_ips
    assert subset["ports"] == [{"port": 80, "protocol": "TCP"}]
    (slice_,) = sim.get_json("endpointslices", "-n", namespace, "-l",
                             "kubernetes.io/service-name=web")["items"]
    assert sorted(e["addresses"][0] for e in slice_["endpoints"]) == pod_ips
    assert all(e["conditions"]["ready"] for e in slice_["endpoints"])


def test_a_load_balancer_service_gets_an_address_from_a_documentation_range(sim, namespace):
    sim.kubectl("create", "service", "loadbalancer", "front", "--tcp=80", "-n", namespace)

    def address() -> str | None:
        status = sim.get_json("service", "front", "-n", namespace)["status"]
        return (status["loadBalancer"].get("ingress") or [{}])[0].get("ip")

    ip = wait_until(address)
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("192.0.2.0/24")
    line = sim.kubectl("get", "service", "front", "-n", namespace).stdout.splitlines()[1]
    assert line.split()[3] == ip


def test_a_bare_pod_is_scheduled_and_runs(sim, namespace):
    sim.kubectl("run", "solo", "--image=nginx", "-n", namespace)
    sim.kubectl("wait", "--for=condition=Ready", "pod/solo", "-n", namespace, "--timeout=30s")
    pod = sim.get_json("pod", "solo", "-n", namespace)
    assert pod["spec"]["nodeName"] == "sim-node"
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network("10.244.0.0/16")


def test_any_object_whose_owner_is_deleted_is_collected(sim, namespace):
    sim.kubectl("create", "configmap", "owner", "-n", namespace)
    owner = sim.get_json("cm", "owner", "-n", namespace)["metadata"]
    owned = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "owned", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                                              "name": "owner", "uid": owner["uid"]}]}}
    apply(sim, namespace, owned)
    sim.kubectl("delete", "cm", "owner", "-n", namespace)
    wait_until(lambda: sim.kubectl("get", "cm", "owned", "-n", namespace,
                                   check=False).returncode == 1)
