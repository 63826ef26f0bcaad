"""The resourcifier's metrics: each kubectl run by verb and outcome, with its duration, and
each Docker engine call of the docker backend."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
import requests
from prometheus_client import REGISTRY

from dmcommon.errors import BadGateway, GatewayTimeout
from resourcifier.backends.kubectl.runner import Kubectl
from resourcifier.metrics import docker_answered


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def kubectl(tmp_path: Path, body: str) -> Kubectl:
    """A Kubectl whose binary is a script running `body`."""
    script = tmp_path / "kubectl"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return Kubectl({"KUBECTL": str(script), "KUBECTL_TIMEOUT": 2})


@pytest.mark.parametrize(
    ("body", "outcome"), [("exit 0", "succeeded"), ("echo no >&2; exit 1", "failed")]
)
def test_a_kubectl_run_is_counted_by_verb_and_outcome_and_timed(tmp_path, body, outcome):
    runs = sample("dm_kubectl_runs_total", verb="apply", outcome=outcome)
    timed = sample("dm_kubectl_duration_seconds_count", verb="apply")
    kubectl(tmp_path, body).run(["apply", "-f", "-"], "{}")
    assert sample("dm_kubectl_runs_total", verb="apply", outcome=outcome) - runs == 1
    assert sample("dm_kubectl_duration_seconds_count", verb="apply") - timed == 1


def test_a_kubectl_run_past_its_timeout_is_counted_as_a_timeout(tmp_path):
    runs = sample("dm_kubectl_runs_total", verb="get", outcome="timeout")
    with pytest.raises(GatewayTimeout):
        kubectl(tmp_path, "exec sleep 30").run(["get", "pods"])
    assert sample("dm_kubectl_runs_total", verb="get", outcome="timeout") - runs == 1


def test_a_kubectl_that_cannot_start_is_counted_as_an_error(tmp_path):
    runs = sample("dm_kubectl_runs_total", verb="delete", outcome="error")
    broken = Kubectl({"KUBECTL": str(tmp_path / "missing"), "KUBECTL_TIMEOUT": 2})
    with pytest.raises(BadGateway):
        broken.run(["delete", "-f", "-"], "{}")
    assert sample("dm_kubectl_runs_total", verb="delete", outcome="error") - runs == 1


@pytest.mark.parametrize(
    ("path", "target"),
    [("/v1.47/containers/4f2a/start", "containers"), ("/_ping", "ping"), ("/networks", "networks")],
)
def test_a_docker_engine_call_is_counted_by_method_what_it_acts_on_and_status(path, target):
    labels = {"method": "POST", "target": target}
    calls = sample("dm_docker_requests_total", status="204", **labels)
    timed = sample("dm_docker_request_duration_seconds_count", **labels)
    response = requests.Response()
    response.status_code = 204
    response.elapsed = datetime.timedelta(milliseconds=4)
    response.request = requests.Request("POST", f"http+docker://localhost{path}").prepare()
    assert docker_answered(response) is response
    assert sample("dm_docker_requests_total", status="204", **labels) - calls == 1
    assert sample("dm_docker_request_duration_seconds_count", **labels) - timed == 1
