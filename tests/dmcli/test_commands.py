"""`dm` against a real manager, expander and resourcifier over the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import requests
import yaml

from tests.dmcli.runner import dm_json, run_dm
from tests.support import free_port, kubectl, start_manager

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GUESTBOOK = EXAMPLES / "guestbook" / "guestbook.yaml"
TEMPLATE = EXAMPLES / "guestbook" / "replicated_service.py"


def names(stack) -> set[str]:
    """Names of the deployments the manager holds."""
    return {item["name"] for item in dm_json(stack.manager, "list")}


def live(stack, namespace: str, kind: str, name: str) -> dict | None:
    """The object as the simulator stores it, or None when it does not exist."""
    result = kubectl(
        stack.simulator.kubeconfig, "-n", namespace, "get", kind, name, "-o", "json", check=False
    )
    return json.loads(result.stdout) if result.returncode == 0 else None


def test_deploy_prints_each_step_as_it_happens_then_the_deployment(stack, namespace):
    result = run_dm(stack.manager, "deploy", str(GUESTBOOK), "--namespace", namespace)
    lines = result.stdout.splitlines()
    shown = dm_json(stack.manager, "get", "guestbook")
    assert lines[0] == f"create guestbook: operation {shown['operation']}"
    steps = [line.split()[:3] for line in lines[1 : lines.index("")]]
    for resource in ("frontend-deployment", "redis-follower-service"):
        assert steps.index([resource, "apply", "Running"]) < steps.index(
            [resource, "apply", "Succeeded"]
        )
        assert [resource, "wait", "Succeeded"] in steps
    assert "Name:      guestbook" in lines
    assert f"Namespace: {namespace}" in lines
    assert "Status:    Deployed" in lines
    assert "Revision:  1" in lines
    rows = {line.split()[0]: line.split()[1:3] for line in lines if line.startswith("frontend-")}
    assert rows == {
        "frontend-deployment": ["Deployment", "Created"],
        "frontend-service": ["Service", "Created"],
    }
    frontend = live(stack, namespace, "deployment", "frontend")
    assert frontend["spec"]["replicas"] == 3
    assert frontend["metadata"]["labels"]["deployment-manager.io/deployment"] == "guestbook"


def test_with_a_machine_format_the_steps_go_to_stderr(stack, namespace):
    result = run_dm(
        stack.manager, "deploy", str(GUESTBOOK), "--name", namespace, "-n", namespace, "-o", "json"
    )
    shown = json.loads(result.stdout)
    assert shown["state"]["status"] == "Deployed"
    assert result.stderr.splitlines()[0] == (
        f"create {namespace}: operation {shown['operation']}"
    )


def test_get_and_list_show_the_deployment_in_json(stack, namespace):
    run_dm(stack.manager, "deploy", str(GUESTBOOK), "--name", "shop", "--namespace", namespace)
    shown = dm_json(stack.manager, "get", "shop")
    assert shown["state"]["status"] == "Deployed"
    assert {row["name"]: row["status"] for row in shown["resources"]} == {
        f"{part}-{kind}": "Created"
        for part in ("frontend", "redis-leader", "redis-follower")
        for kind in ("deployment", "service")
    }
    assert json.loads(run_dm(stack.manager, "get", "shop", "-o", "json").stdout) == shown
    listed = [item for item in dm_json(stack.manager, "list") if item["namespace"] == namespace]
    assert [item["name"] for item in listed] == ["shop"]
    table = run_dm(stack.manager, "list").stdout.splitlines()
    assert table[0].split() == ["NAME", "NAMESPACE", "STATUS", "HEALTH", "REVISION", "MODIFIED"]
    assert ["shop", namespace, "Deployed"] in [line.split()[:3] for line in table[1:]]
    wide = run_dm(stack.manager, "list", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[6:] == ["SYNC", "OPERATION", "MANIFEST"]
    assert run_dm(stack.manager, "list", "-n", namespace, "-o", "name").stdout == "shop\n"


def test_delete_removes_the_objects_and_the_deployment(stack, namespace):
    run_dm(stack.manager, "deploy", str(GUESTBOOK), "--name", namespace, "--namespace", namespace)
    result = run_dm(stack.manager, "delete", namespace)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"delete {namespace}: operation ")
    assert ["frontend-deployment", "delete", "Succeeded"] in [line.split()[:3] for line in lines]
    assert lines[-1] == f"deployment {namespace} deleted"
    assert live(stack, namespace, "deployment", "frontend") is None
    assert live(stack, namespace, "service", "redis-leader") is None
    assert namespace not in names(stack)


def test_delete_keep_resources_leaves_the_objects(stack, namespace):
    run_dm(stack.manager, "deploy", str(GUESTBOOK), "--name", namespace, "--namespace", namespace)
    result = run_dm(stack.manager, "delete", namespace, "--keep-resources")
    assert result.stdout.splitlines()[-1] == (
        f"deployment {namespace} deleted; its resources were left in place"
    )
    assert live(stack, namespace, "deployment", "frontend") is not None
    assert namespace not in names(stack)


def test_single_template_deploys_as_one_resource_named_after_the_file(stack, namespace):
    run_dm(
        stack.manager,
        "deploy",
        str(TEMPLATE),
        "--namespace",
        namespace,
        "--properties",
        "image=nginx:1.27,port=8080,replicas=2",
    )
    shown = dm_json(stack.manager, "get", "replicated-service")
    assert [row["name"] for row in shown["resources"]] == [
        "replicated-service-deployment",
        "replicated-service-service",
    ]
    deployment = live(stack, namespace, "deployment", "replicated-service")
    assert deployment["spec"]["replicas"] == 2
    service = live(stack, namespace, "service", "replicated-service")
    assert service["spec"]["ports"][0]["port"] == 8080


def test_expand_prints_the_expansion_and_stores_nothing(stack):
    expansion = yaml.safe_load(
        run_dm(stack.manager, "expand", str(GUESTBOOK), "--name", "expanded-only").stdout
    )
    assert [item["name"] for item in expansion["config"]["resources"]][:2] == [
        "frontend-deployment",
        "frontend-service",
    ]
    assert expansion["layout"]["resources"][0]["properties"]["serviceType"] == "ClusterIP"
    table = run_dm(stack.manager, "-o", "table", "expand", str(GUESTBOOK)).stdout.splitlines()
    assert table[1].split() == ["frontend-deployment", "Deployment", "frontend"]
    assert "expanded-only" not in names(stack)


def test_types_and_instances_list_the_templates_in_use(stack, namespace):
    run_dm(stack.manager, "deploy", str(GUESTBOOK), "--name", namespace, "--namespace", namespace)
    assert "replicated_service.py" in dm_json(stack.manager, "types")
    types_table = run_dm(stack.manager, "types").stdout.splitlines()
    assert types_table[0] == "TYPE"
    assert "replicated_service.py" in types_table[1:]
    instances = [
        item
        for item in dm_json(stack.manager, "instances", "replicated_service.py")
        if item["deployment"] == namespace
    ]
    latest = dm_json(stack.manager, "get", namespace)["latestManifest"]
    assert sorted((item["name"], item["path"]) for item in instances) == [
        ("frontend", "$.resources[0]"),
        ("redis-follower", "$.resources[2]"),
        ("redis-leader", "$.resources[1]"),
    ]
    assert {(item["type"], item["manifest"]) for item in instances} == {
        ("replicated_service.py", latest)
    }
    table = run_dm(stack.manager, "instances", "replicated_service.py").stdout.splitlines()
    assert table[0].split() == ["NAME", "TYPE", "DEPLOYMENT", "MANIFEST", "PATH"]


def test_unknown_deployment_prints_the_server_message_and_exits_1(stack):
    result = run_dm(stack.manager, "get", "nosuch", check=False)
    expected = requests.get(f"{stack.manager}/deployments/nosuch", timeout=10).json()["message"]
    assert result.returncode == 1
    assert result.stderr.strip() == f"Error: {expected}"
    assert result.stdout == ""


def test_schema_violation_is_reported_and_nothing_is_stored(stack, namespace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        GUESTBOOK.read_text()
        .replace("    port: 80\n", "")
        .replace(
            "- path: replicated_service.py", f"- path: {TEMPLATE}\n  name: replicated_service.py"
        )
    )
    result = run_dm(stack.manager, "deploy", str(bad), "--namespace", namespace, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: template {TEMPLATE} (resource 'frontend'): properties do not match "
        f"schema {TEMPLATE}.schema: properties: 'port' is a required property"
    )
    assert "bad" not in names(stack)
    assert live(stack, namespace, "deployment", "redis-leader") is None


def test_failed_deployment_is_shown_and_exits_1(stack, namespace, tmp_path):
    config = {
        "resources": [
            {
                "name": "broken",
                "type": "Deployment",
                "properties": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "broken"},
                    "spec": {
                        "selector": {"matchLabels": {"app": "a"}},
                        "template": {
                            "metadata": {"labels": {"app": "b"}},
                            "spec": {"containers": [{"name": "c", "image": "redis:7"}]},
                        },
                    },
                },
            }
        ]
    }
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run_dm(stack.manager, "deploy", str(path), "--namespace", namespace, check=False)
    assert result.returncode == 1
    assert "Status:    Failed" in result.stdout.splitlines()
    shown = dm_json(stack.manager, "get", "broken")
    assert shown["state"]["status"] == "Failed"
    (error,) = shown["state"]["errors"]
    assert f"Error:     {error}" in result.stdout.splitlines()
    assert "selector" in error
    assert [row["status"] for row in shown["resources"]] == ["Failed"]
    (operation,) = dm_json(stack.manager, "operations", "broken")
    assert result.stderr.strip() == (
        f"Error: create of broken Failed: {'; '.join(operation['errors'])}"
    )


def test_missing_import_fails_before_any_request(stack, tmp_path):
    config = tmp_path / "app.yaml"
    config.write_text("imports:\n- path: gone.py\nresources:\n- {name: a, type: gone.py}\n")
    result = run_dm(stack.manager, "deploy", str(config), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {tmp_path / 'gone.py'}: file not found (imported by {config})"
    )
    assert "app" not in names(stack)


def test_properties_with_a_configuration_are_refused(stack):
    result = run_dm(
        stack.manager,
        "deploy",
        str(GUESTBOOK),
        "--name",
        "refused",
        "-p",
        "replicas=2",
        check=False,
    )
    assert result.returncode == 1
    assert "--properties applies only when FILE is a single template" in result.stderr
    assert "refused" not in names(stack)


def test_unreachable_manager_says_how_to_start_it():
    url = f"http://127.0.0.1:{free_port()}"
    result = run_dm(url, "list", check=False)
    assert result.returncode == 1
    assert (
        result.stderr.strip() == f"Error: cannot reach the manager at {url} (is `dm up` running?)"
    )


def test_token_is_sent_and_a_missing_or_wrong_one_names_the_flag(stack, tmp_path):
    process, url = start_manager(
        tmp_path, stack.expander, stack.resourcifier, env={"DM_API_TOKEN": "s3cret"}
    )
    try:
        refused = run_dm(url, "list", check=False)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            f"Error: the manager at {url} requires an API token: "
            "pass --token or set DM_API_TOKEN"
        )
        wrong = run_dm(url, "--token", "guess", "list", check=False)
        assert wrong.stderr.strip() == (
            f"Error: the manager at {url} refused the API token: check --token or DM_API_TOKEN"
        )
        assert run_dm(url, "--token", "s3cret", "-o", "json", "list").stdout.strip() == "[]"
    finally:
        process.stop()


def test_deploying_an_existing_name_suggests_dm_update(stack, namespace):
    run_dm(
        stack.manager,
        "deploy",
        str(TEMPLATE),
        "--name",
        namespace,
        "--namespace",
        namespace,
        "-p",
        "image=redis:7,port=6379",
    )
    again = run_dm(
        stack.manager,
        "deploy",
        str(TEMPLATE),
        "--name",
        namespace,
        "-p",
        "image=redis:7,port=6379",
        check=False,
    )
    assert again.returncode == 1
    message = requests.post(
        f"{stack.manager}/deployments",
        json={"name": namespace, "content": "resources: []\n"},
        timeout=10,
    ).json()["message"]
    assert again.stderr.splitlines() == [
        f"Error: {message}",
        f"to change it: dm apply {TEMPLATE} --name {namespace}",
    ]
