"""`dm diff`, `--preview`, `dm preview show|apply|discard` and `dm drift` against real
services and the simulator."""

from __future__ import annotations

import json

from tests.dmcli.fixtures import write_guestbook_copy
from tests.dmcli.runner import dm_json, run_dm
from tests.dmcli.test_operations import GUESTBOOK, deploy, replicas
from tests.support import kubectl


def test_diff_of_a_change_prints_the_plan_and_exits_1_without_changing_anything(
    stack, namespace, tmp_path
):
    deploy(stack, namespace)
    scaled = write_guestbook_copy(tmp_path, frontend_replicas=5)
    result = run_dm(stack.manager, "diff", str(scaled), "--name", namespace, check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RESOURCE", "KIND", "NAME", "ACTION"]
    plan = {line.split()[0]: line.split()[-1] for line in lines[1:7]}
    assert plan["frontend-deployment"] == "update"
    assert plan["frontend-service"] == "unchanged"
    assert "-  replicas: 3\n+  replicas: 5\n" in result.stdout
    assert "1 of 6 resources would change" in result.stdout
    assert replicas(stack, namespace) == 3


def test_diff_of_an_unchanged_configuration_exits_0(stack, namespace):
    deploy(stack, namespace)
    result = run_dm(stack.manager, "diff", str(GUESTBOOK), "--name", namespace, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 of 6 resources would change" in result.stdout


def test_diff_errors_exit_2(stack, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("resources:\n- name: a\n  type: ConfigMap\n  properties: {data: {}}\n")
    result = run_dm(stack.manager, "diff", str(broken), check=False)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: resource 'a' (type 'ConfigMap') is not a Kubernetes object: it lacks "
        "apiVersion, kind, metadata.name\n"
    )


def test_a_preview_is_stored_shown_and_applied_exactly(stack, namespace, tmp_path):
    deploy(stack, namespace)
    scaled = write_guestbook_copy(tmp_path, frontend_replicas=4)
    shown = run_dm(stack.manager, "update", str(scaled), "--name", namespace, "--preview")
    assert "1 of 6 resources would change" in shown.stdout
    stored = dm_json(stack.manager, "preview", "show", namespace)
    assert [line["resource"] for line in stored["plan"] if line["action"] == "update"] == [
        "frontend-deployment"
    ]
    assert replicas(stack, namespace) == 3
    applied = run_dm(stack.manager, "preview", "apply", namespace)
    assert applied.stdout.splitlines()[0].startswith(f"apply-preview {namespace}: operation ")
    assert replicas(stack, namespace) == 4
    gone = run_dm(stack.manager, "preview", "show", namespace, check=False)
    assert gone.returncode == 1
    assert gone.stderr.startswith(f'Error: deployment "{namespace}" has no preview')


def test_a_discarded_preview_is_gone(stack, namespace, tmp_path):
    deploy(stack, namespace)
    scaled = write_guestbook_copy(tmp_path, frontend_replicas=2)
    run_dm(stack.manager, "apply", str(scaled), "--name", namespace, "--preview")
    discarded = run_dm(stack.manager, "preview", "discard", namespace)
    assert discarded.stdout == f"preview of {namespace} discarded\n"
    refused = run_dm(stack.manager, "preview", "apply", namespace, check=False)
    assert refused.returncode == 1
    assert replicas(stack, namespace) == 3


def test_drift_shows_missing_and_modified_objects_and_sync_repairs_them(stack, namespace):
    deploy(stack, namespace)
    kubeconfig = stack.simulator.kubeconfig
    kubectl(kubeconfig, "-n", namespace, "delete", "service", "redis-leader")
    patch = json.dumps({"spec": {"replicas": 7}})
    kubectl(kubeconfig, "-n", namespace, "patch", "deployment", "frontend", "-p", patch)
    report = run_dm(stack.manager, "drift", namespace)
    lines = report.stdout.splitlines()
    assert lines[0].startswith("Sync: OutOfSync")
    rows = {line.split()[0]: line.split()[1] for line in lines[2:8]}
    assert rows["redis-leader-service"] == "Missing"
    assert rows["frontend-deployment"] == "Modified"
    assert "-  replicas: 7\n+  replicas: 3\n" in report.stdout
    assert "Sync:      OutOfSync" in run_dm(stack.manager, "get", namespace).stdout
    run_dm(stack.manager, "sync", namespace)
    assert run_dm(stack.manager, "drift", namespace).stdout.startswith("Sync: InSync")
