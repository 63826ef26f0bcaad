"""`dm` commands around operations and revisions: apply, history, rollback, sync,
operations, watch, --async and the operation options, against real services."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.dmcli.fixtures import write_guestbook_copy
from tests.dmcli.runner import DM, dm_json, run_dm
from tests.support import kubectl

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GUESTBOOK = EXAMPLES / "guestbook" / "guestbook.yaml"
TEMPLATE = EXAMPLES / "guestbook" / "replicated_service.py"


def replicas(stack, namespace: str) -> int:
    found = kubectl(
        stack.simulator.kubeconfig, "-n", namespace, "get", "deployment", "frontend", "-o", "json"
    )
    return json.loads(found.stdout)["spec"]["replicas"]


def deploy(stack, namespace: str, *extra: str):
    return run_dm(
        stack.manager, "deploy", str(GUESTBOOK), "--name", namespace, "-n", namespace, *extra
    )


def test_apply_creates_a_deployment_then_updates_it(stack, namespace, tmp_path):
    first = run_dm(stack.manager, "apply", str(GUESTBOOK), "--name", namespace, "-n", namespace)
    assert first.stdout.splitlines()[0].startswith(f"create {namespace}: operation ")
    scaled = write_guestbook_copy(tmp_path, frontend_replicas=4)
    second = run_dm(stack.manager, "apply", str(scaled), "--name", namespace, "-n", namespace)
    assert second.stdout.splitlines()[0].startswith(f"update {namespace}: operation ")
    assert "Revision:  2" in second.stdout.splitlines()
    assert replicas(stack, namespace) == 4


def test_update_takes_its_name_from_the_file_like_deploy(stack, namespace, tmp_path):
    run_dm(stack.manager, "deploy", str(GUESTBOOK), "-n", namespace)
    scaled = write_guestbook_copy(tmp_path, frontend_replicas=2)
    run_dm(stack.manager, "update", str(scaled), "-n", namespace)
    assert dm_json(stack.manager, "get", "guestbook")["revision"] == 2
    assert replicas(stack, namespace) == 2
    run_dm(stack.manager, "delete", "guestbook")


def test_history_lists_revisions_with_their_operation_status(stack, namespace, tmp_path):
    deploy(stack, namespace)
    run_dm(stack.manager, "update", str(write_guestbook_copy(tmp_path, 5)), "--name", namespace)
    history = dm_json(stack.manager, "history", namespace)
    assert [(item["revision"], item["status"]) for item in history] == [
        (1, "Succeeded"),
        (2, "Succeeded"),
    ]
    operations = dm_json(stack.manager, "operations", namespace)
    assert [item["id"] for item in operations] == [history[1]["operation"], history[0]["operation"]]
    table = run_dm(stack.manager, "history", namespace).stdout.splitlines()
    assert table[0].split() == ["REVISION", "CREATED", "STATUS", "OPERATION"]
    assert [line.split() for line in table[1:]] == [
        [str(item["revision"]), item["createdAt"], "Succeeded", item["operation"]]
        for item in history
    ]
    wide = run_dm(stack.manager, "history", namespace, "-o", "wide").stdout.splitlines()
    assert wide[1].split()[-1] == history[0]["name"]


def test_rollback_without_a_revision_goes_to_the_previous_successful_one(
    stack, namespace, tmp_path
):
    deploy(stack, namespace)
    run_dm(stack.manager, "update", str(write_guestbook_copy(tmp_path, 5)), "--name", namespace)
    assert replicas(stack, namespace) == 5
    result = run_dm(stack.manager, "rollback", namespace)
    assert result.stdout.splitlines()[0].startswith(f"rollback {namespace}: operation ")
    assert "Revision:  3" in result.stdout.splitlines()
    assert replicas(stack, namespace) == 3
    latest = yaml.safe_load(run_dm(stack.manager, "manifest", namespace).stdout)
    assert latest["revision"] == 3
    assert (
        latest["inputConfig"]["content"]
        == yaml.safe_load(run_dm(stack.manager, "manifest", namespace, "1").stdout)["inputConfig"][
            "content"
        ]
    )


def test_rollback_takes_a_revision_number_or_a_manifest_name(stack, namespace, tmp_path):
    deploy(stack, namespace)
    run_dm(stack.manager, "update", str(write_guestbook_copy(tmp_path, 5)), "--name", namespace)
    run_dm(stack.manager, "rollback", namespace, "1")
    assert replicas(stack, namespace) == 3
    second = dm_json(stack.manager, "history", namespace)[1]["name"]
    run_dm(stack.manager, "rollback", namespace, second)
    assert replicas(stack, namespace) == 5
    view = run_dm(stack.manager, "manifest", namespace, "2", "-o", "table").stdout.splitlines()
    assert view[:3] == [f"Deployment: {namespace}", f"Manifest:   {second}", "Revision:   2"]


def test_async_prints_the_operation_id_and_watch_follows_it(stack, namespace):
    started = deploy(stack, namespace, "--async")
    operation_id = started.stdout.strip()
    watched = run_dm(stack.manager, "watch", operation_id)
    lines = watched.stdout.splitlines()
    assert lines[0] == f"create {namespace}: operation {operation_id}"
    assert f"Operation:  {operation_id}" in lines
    assert "Status:     Succeeded" in lines
    assert ["frontend-deployment", "apply", "Succeeded"] in [line.split()[:3] for line in lines]
    assert dm_json(stack.manager, "get", namespace)["state"]["status"] == "Deployed"


def test_async_with_json_prints_the_operation(stack, namespace):
    operation = json.loads(deploy(stack, namespace, "--async", "-o", "json").stdout)
    assert operation["type"] == "create"
    assert operation["deployment"] == namespace
    ended = dm_json(stack.manager, "watch", operation["id"])
    assert ended["status"] == "Succeeded"


def test_operation_options_reach_the_manager(stack, namespace):
    operation = json.loads(
        deploy(
            stack, namespace, "--no-wait", "--timeout", "5m", "--atomic", "--async", "-o", "json"
        ).stdout
    )
    assert operation["options"]["wait"] is False
    assert operation["options"]["timeout"] == 300
    assert operation["options"]["atomic"] is True
    run_dm(stack.manager, "watch", operation["id"])
    synced = json.loads(
        run_dm(stack.manager, "sync", namespace, "--timeout", "90s", "--async", "-o", "json").stdout
    )
    assert (synced["type"], synced["options"]["timeout"]) == ("sync", 90)


def test_sync_applies_every_resource_again(stack, namespace):
    deploy(stack, namespace)
    kubectl(
        stack.simulator.kubeconfig,
        "-n",
        namespace,
        "scale",
        "deployment",
        "frontend",
        "--replicas=7",
    )
    result = run_dm(stack.manager, "sync", namespace)
    assert result.stdout.splitlines()[0].startswith(f"sync {namespace}: operation ")
    assert replicas(stack, namespace) == 3


def test_operations_without_a_name_lists_every_deployments_newest_first(stack, namespace):
    deploy(stack, namespace)
    run_dm(stack.manager, "sync", namespace)
    listed = [
        item for item in dm_json(stack.manager, "operations") if item["deployment"] == namespace
    ]
    assert [item["type"] for item in listed] == ["sync", "create"]
    table = run_dm(stack.manager, "operations", namespace).stdout.splitlines()
    assert table[0].split() == ["ID", "DEPLOYMENT", "TYPE", "STATUS", "PROGRESS", "CREATED"]
    assert table[1].split()[1:4] == [namespace, "sync", "Succeeded"]


def test_watching_a_failed_operation_exits_1(stack, namespace, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        yaml.safe_dump(
            {
                "resources": [
                    {
                        "name": "cm",
                        "type": "ConfigMap",
                        "properties": {
                            "apiVersion": "v1",
                            "kind": "ConfigMap",
                            "metadata": {"name": "Not_A_Name"},
                        },
                    }
                ]
            }
        )
    )
    operation_id = run_dm(
        stack.manager, "deploy", str(broken), "--name", namespace, "-n", namespace, "--async"
    ).stdout.strip()
    watched = run_dm(stack.manager, "watch", operation_id, check=False)
    assert watched.returncode == 1
    assert "Status:     Failed" in watched.stdout.splitlines()
    assert watched.stderr.startswith(f"Error: create of {namespace} Failed: ")


def test_version_and_dash_dash_version_print_the_same():
    version = run_dm("http://127.0.0.1:9", "version").stdout
    assert version.startswith("dm version ")
    assert run_dm("http://127.0.0.1:9", "--version").stdout == version


def completion(*words: str, **env: str) -> str:
    environ = {"COMP_WORDS": " ".join(words), "COMP_CWORD": "2", **os.environ, **env}
    return subprocess.run([DM], capture_output=True, text=True, env=environ, timeout=60).stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_completion_scripts_are_served(shell):
    assert "_dm_completion" in completion(_DM_COMPLETE=f"{shell}_source")


def test_completion_offers_commands_and_output_formats():
    assert completion("dm", "app", _DM_COMPLETE="bash_complete", COMP_CWORD="1") == "plain,apply\n"
    formats = completion("dm", "-o", "", _DM_COMPLETE="bash_complete").split()
    assert formats == [f"plain,{name}" for name in ("table", "wide", "yaml", "json", "name")]
