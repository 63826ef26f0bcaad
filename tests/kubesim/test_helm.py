"""Helm 4, a second real client of the simulator: install, upgrade, rollback and uninstall
of a tiny chart (a Deployment, a Service and a ConfigMap), waiting for readiness."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

CHART = {
    "Chart.yaml": "apiVersion: v2\nname: tiny\nversion: 0.1.0\n",
    "values.yaml": "image: nginx:1.25\nreplicas: 2\n",
    "templates/all.yaml": """\
apiVersion: v1
kind: ConfigMap
metadata: {name: "{{ .Release.Name }}-config"}
data: {greeting: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: "{{ .Release.Name }}-web"}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: "{{ .Release.Name }}-web"}}
  template:
    metadata: {labels: {app: "{{ .Release.Name }}-web"}}
    spec:
      containers:
      - name: web
        image: {{ .Values.image }}
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: "{{ .Release.Name }}-web"}
spec:
  selector: {app: "{{ .Release.Name }}-web"}
  ports: [{port: 80}]
""",
}


@pytest.fixture(scope="module")
def chart(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("chart")
    for name, text in CHART.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def helm(sim, helm_path, namespace, tmp_path):
    """Run helm in the test's namespace against the simulator, with homes of its own."""
    # HOME too: Helm keeps its discovery cache under $HOME/.kube.
    env = {"KUBECONFIG": str(sim.kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "HELM_CACHE_HOME": str(tmp_path / "cache"), "HELM_CONFIG_HOME": str(tmp_path / "cfg"),
           "HELM_DATA_HOME": str(tmp_path / "data")}

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(helm_path), *args, "-n", namespace], env=env,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
        return result

    return run


def images(sim, namespace: str) -> list[str]:
    pods = sim.get_json("pods", "-n", namespace, "-l", "app=rel-web")["items"]
    return sorted(p["spec"]["containers"][0]["image"] for p in pods
                  if "deletionTimestamp" not in p["metadata"])


def test_helm_install_waits_until_the_deployment_is_ready(sim, helm, chart, namespace):
    helm("install", "rel", str(chart), "--wait", "--timeout", "60s")
    web = sim.get_json("deployment", "rel-web", "-n", namespace)
    assert web["status"]["readyReplicas"] == 2
    assert sim.get_json("cm", "rel-config", "-n", namespace)["data"] == {"greeting": "hello"}
    releases = sim.get_json("secrets", "-n", namespace, "-l", "owner=helm")["items"]
    assert [s["metadata"]["labels"]["status"] for s in releases] == ["deployed"]


def test_helm_upgrade_and_rollback_replace_the_pods(sim, helm, chart, namespace):
    helm("install", "rel", str(chart), "--wait", "--timeout", "60s")
    helm("upgrade", "rel", str(chart), "--set", "image=nginx:1.27", "--wait", "--timeout", "60s")
    assert images(sim, namespace) == ["nginx:1.27", "nginx:1.27"]
    helm("rollback", "rel", "1", "--wait", "--timeout", "60s")
    assert images(sim, namespace) == ["nginx:1.25", "nginx:1.25"]
    history = helm("history", "rel", "-o", "json").stdout
    assert history.count('"revision"') == 3


def test_a_failed_upgrade_rolls_back_on_failure(sim, helm, chart, namespace):
    helm("install", "rel", str(chart), "--wait", "--timeout", "60s")
    sim.control.never_ready("broken:*")
    try:
        failed = helm("upgrade", "rel", str(chart), "--set", "image=broken:1",
                      "--rollback-on-failure", "--timeout", "3s", check=False)
    finally:
        sim.control.clear_faults()
    assert failed.returncode == 1
    assert "rel-web" in failed.stderr
    sim.kubectl("rollout", "status", "deployment/rel-web", "-n", namespace, "--timeout=30s")
    assert images(sim, namespace) == ["nginx:1.25", "nginx:1.25"]


def test_helm_uninstall_removes_the_objects_and_the_release(sim, helm, chart, namespace):
    helm("install", "rel", str(chart), "--wait", "--timeout", "60s")
    helm("uninstall", "rel", "--wait", "--timeout", "60s")
    assert sim.get_json("all,cm,secrets", "-n", namespace)["items"] == []
