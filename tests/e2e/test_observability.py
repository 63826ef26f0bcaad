"""Observability through the real processes: each service's /metrics during and after a
deploy (two gunicorn workers each), request ids across the services, JSON log lines.

The three services here are this module's own, logging JSON, so that their logs and
counts hold only what these tests did. Their kubectl is a wrapper that holds any apply
of a resource named `gate-*` until the test opens the gate: a deploy then stops mid-way
for as long as the test looks at it.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.manager.test_e2e_workflow import config_map, template
from tests.support import ServiceProcess, manager_flags, start_service, wait_until

KUBECTL_GATE = """#!/bin/sh
# kubectl, except that an apply naming a gate-* resource waits for the file $DM_TEST_GATE.
input=$(cat)
case "$input" in
  *gate-*) while [ ! -e "$DM_TEST_GATE" ]; do sleep 0.05; done ;;
esac
printf '%s' "$input" | exec {kubectl} "$@"
"""

JSON_LOGS = {"DM_LOG_FORMAT": "json"}


@dataclass
class Observed:
    manager: ServiceProcess
    expander: ServiceProcess
    resourcifier: ServiceProcess
    urls: dict[str, str]
    gate: Path

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.urls["manager"] + path, timeout=60, **kwargs)


@pytest.fixture(scope="module")
def observed(tmp_path_factory, simulator) -> Observed:
    workdir = tmp_path_factory.mktemp("observed")
    gate = workdir / "gate-open"
    wrapper = workdir / "kubectl-gate"
    wrapper.write_text(KUBECTL_GATE.format(kubectl=shutil.which("kubectl")))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    processes = {}
    try:
        processes["expander"], expander = start_service("expander", workdir, env=JSON_LOGS)
        processes["resourcifier"], resourcifier = start_service(
            "resourcifier",
            workdir,
            ["--kubeconfig", str(simulator.kubeconfig), "--kubectl", str(wrapper)],
            env={**JSON_LOGS, "DM_TEST_GATE": str(gate)},
        )
        processes["manager"], manager = start_service(
            "manager", workdir, manager_flags(workdir, expander, resourcifier), env=JSON_LOGS
        )
        urls = {"manager": manager, "expander": expander, "resourcifier": resourcifier}
        yield Observed(urls=urls, gate=gate, **processes)
    finally:
        for process in processes.values():
            process.stop()


_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$")


def scrape(url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of `url`/metrics, keyed by name and labels."""
    response = requests.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match and not line.startswith("#"):
            name, labels, value = match.groups()
            pairs = frozenset(re.findall(r'(\w+)="([^"]*)"', labels or ""))
            samples[(name, pairs)] = float(value)
    return samples


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    """How much the sample `name{labels}` grew between two scrapes."""
    key = (name, frozenset(labels.items()))
    return after.get(key, 0.0) - before.get(key, 0.0)


def scrape_all(observed: Observed) -> dict[str, dict]:
    return {service: scrape(url) for service, url in observed.urls.items()}


def growth(before: dict[str, dict], after: dict[str, dict]):
    """`grew(service, name, **labels)`: how much a sample of `service` grew in between."""

    def grew(service: str, name: str, **labels: str) -> float:
        return moved(before[service], after[service], name, **labels)

    return grew


def log_lines(process: ServiceProcess) -> list[dict]:
    """The process's log, each line read as the JSON object it must be."""
    return [json.loads(line) for line in process.log_path.read_text().splitlines() if line]


def operation_of(observed: Observed, operation_id: str) -> dict:
    return observed.api("GET", f"/operations/{operation_id}").json()


def step_statuses(operation: dict, action: str) -> dict[str, str]:
    return {
        step["resource"]: step["status"] for step in operation["steps"] if step["action"] == action
    }


def test_metrics_count_what_a_deploy_did_during_and_after_it(observed, namespace, app):
    observed.gate.unlink(missing_ok=True)
    before = scrape_all(observed)
    # Two dependency levels: `first`, then `gate-second` (held) and `third`.
    resources = [
        config_map("first"),
        config_map("gate-second", up="$(ref.first.metadata.uid)"),
        config_map("third", up="$(ref.first.metadata.uid)"),
    ]
    response = observed.api("POST", "/deployments", json=template(app, namespace, *resources))
    assert response.status_code == 202, response.text
    operation_id = response.json()["id"]

    def first_level_done():
        operation = operation_of(observed, operation_id)
        return step_statuses(operation, "wait").get("first") == "Succeeded" and operation

    running = wait_until(first_level_done)
    assert running["status"] == "Running"
    # Scraped several times: whichever worker answers, every worker's counts are in it.
    for _ in range(4):
        grew = growth(before, scrape_all(observed))
        assert grew("manager", "dm_operations_total", type="create", outcome="succeeded") == 0
        assert grew("manager", "dm_resources_total", kind="ConfigMap", outcome="applied") == 1
        assert grew("manager", "dm_health_waits_total", outcome="succeeded") == 1
        assert grew("expander", "dm_expansions_total", outcome="succeeded") == 1
        assert grew("resourcifier", "dm_kubectl_runs_total", verb="apply", outcome="succeeded") >= 1
    assert operation_of(observed, operation_id)["status"] == "Running"

    observed.gate.touch()
    ended = wait_until(
        lambda: (operation := operation_of(observed, operation_id))["status"] != "Running"
        and operation
    )
    assert ended["status"] == "Succeeded", ended["errors"]
    grew = growth(before, scrape_all(observed))
    assert grew("manager", "dm_operations_total", type="create", outcome="succeeded") == 1
    assert grew("manager", "dm_operation_duration_seconds_count", type="create") == 1
    assert grew("manager", "dm_resources_total", kind="ConfigMap", outcome="applied") == 3
    assert grew("manager", "dm_health_waits_total", outcome="succeeded") == 3
    assert (
        grew("manager", "dm_http_requests_total", route="/deployments", method="POST", status="202")
        == 1
    )
    assert grew("manager", "dm_repository_duration_seconds_count", operation="save_manifest") >= 2
    assert grew("expander", "dm_expansions_total", outcome="succeeded") == 1
    assert grew("expander", "dm_expansion_duration_seconds_count") == 1
    assert (
        grew("expander", "dm_http_requests_total", route="/expand", method="POST", status="200")
        == 1
    )
    # The namespace, then one kubectl apply per dependency level.
    assert grew("resourcifier", "dm_kubectl_runs_total", verb="apply", outcome="succeeded") == 3
    assert grew("resourcifier", "dm_kubectl_duration_seconds_count", verb="apply") == 3
    applies = {"route": "/configurations", "method": "POST", "status": "201"}
    assert grew("resourcifier", "dm_http_requests_total", **applies) == 3


def test_metrics_answer_without_the_api_token_and_name_routes_not_paths(observed, app):
    before = scrape(observed.urls["manager"])
    assert observed.api("GET", f"/deployments/{app}").status_code == 404
    after = scrape(observed.urls["manager"])
    assert moved(before, after, "dm_http_requests_total",
                 route="/deployments/<name>", method="GET", status="404") == 1
    assert not any(app in str(labels) for _, labels in after)


def test_a_request_id_sent_to_the_manager_reaches_the_expander_and_resourcifier(
    observed, namespace, app
):
    observed.gate.touch()
    request_id = f"trace-{uuid.uuid4().hex}"
    response = observed.api(
        "POST",
        "/deployments?wait=true",
        json=template(app, namespace, config_map("settings")),
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == request_id

    def logged_by(process: ServiceProcess) -> list[dict]:
        return [line for line in log_lines(process) if line["request_id"] == request_id]

    expander_lines = wait_until(lambda: logged_by(observed.expander))
    assert '"POST /expand HTTP/1.1" 200' in expander_lines[0]["message"]
    resourcifier_lines = wait_until(
        lambda: [line for line in logged_by(observed.resourcifier)
                 if '"POST /configurations HTTP/1.1" 201' in line["message"]]
    )
    assert resourcifier_lines
    manager_lines = logged_by(observed.manager)
    assert any(line.get("resource") == "settings" for line in manager_lines)


def test_a_request_without_an_id_is_given_one(observed):
    response = requests.get(f"{observed.urls['expander']}/healthz", timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_json_logs_parse_line_by_line_and_name_the_operation_of_each_step(
    observed, namespace, app
):
    observed.gate.touch()
    response = observed.api(
        "POST", "/deployments", json=template(app, namespace, config_map("one"), config_map("two"))
    )
    operation_id = response.json()["id"]
    ended = f"{app} create operation {operation_id} Succeeded"

    def operation_lines() -> list[dict]:
        lines = [
            line for line in log_lines(observed.manager) if line.get("operation") == operation_id
        ]
        return lines if lines and lines[-1]["message"] == ended else []

    lines = wait_until(operation_lines)
    assert lines[0]["message"] == f"{app} create operation {operation_id} started"
    assert all(line["deployment"] == app for line in lines)
    assert all(line["logger"] == "manager.operations" for line in lines)
    # One line per step, naming its resource, and one request id for the whole operation.
    steps = sorted(
        (line["resource"], line["message"].split(":")[0], "Succeeded" in line["message"])
        for line in lines
        if "resource" in line
    )
    assert steps == [
        ("one", f"{app} apply", True),
        ("one", f"{app} wait", True),
        ("two", f"{app} apply", True),
        ("two", f"{app} wait", True),
    ]
    assert len({line["request_id"] for line in lines}) == 1
    for process in (observed.manager, observed.expander, observed.resourcifier):
        for line in log_lines(process):
            assert {"time", "level", "logger", "message", "request_id"} <= set(line)
