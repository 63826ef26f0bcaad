"""The manager's metrics as its workflow moves them: operations, resources, health waits,
the repository; and the request id its background operations carry downstream."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from dmcommon.request_ids import current_request_id
from manager.app import create_app
from manager.metrics import TimedRepository
from manager.workflow import Runner
from tests.manager.helpers import config_map, service, template
from tests.support import wait_until


class Counts:
    """Samples of the default registry, read as how much they moved since the start."""

    def __init__(self):
        self._start: dict[tuple, float] = {}

    def _value(self, name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    def __call__(self, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        if key not in self._start:
            raise AssertionError(f"{name}{labels} was not read before the change")
        return self._value(name, labels) - self._start[key]

    def watch(self, name: str, **labels: str) -> None:
        self._start[(name, tuple(sorted(labels.items())))] = self._value(name, labels)


@pytest.fixture
def counts() -> Counts:
    return Counts()


def deploy(client, body, status=201):
    response = client.post("/deployments?wait=true", json=body)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_successful_create_counts_one_operation_and_each_resource_by_kind(client, counts):
    counts.watch("dm_operations_total", type="create", outcome="succeeded")
    counts.watch("dm_operation_duration_seconds_count", type="create")
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="applied")
    counts.watch("dm_resources_total", kind="Service", outcome="applied")
    counts.watch("dm_health_waits_total", outcome="succeeded")
    deploy(client, template("app", config_map("a"), config_map("b"), service("web")))
    assert counts("dm_operations_total", type="create", outcome="succeeded") == 1
    assert counts("dm_operation_duration_seconds_count", type="create") == 1
    assert counts("dm_resources_total", kind="ConfigMap", outcome="applied") == 2
    assert counts("dm_resources_total", kind="Service", outcome="applied") == 1
    assert counts("dm_health_waits_total", outcome="succeeded") == 3


def test_a_refused_resource_counts_as_failed_and_its_dependent_as_aborted(client, fakes, counts):
    fakes.resourcifier.reject.add("base")
    dependent = config_map("dependent", {"uid": "$(ref.base.metadata.uid)"})
    counts.watch("dm_operations_total", type="create", outcome="failed")
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="failed")
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="aborted")
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="applied")
    deploy(client, template("app", config_map("base"), dependent))
    assert counts("dm_operations_total", type="create", outcome="failed") == 1
    assert counts("dm_resources_total", kind="ConfigMap", outcome="failed") == 1
    assert counts("dm_resources_total", kind="ConfigMap", outcome="aborted") == 1
    assert counts("dm_resources_total", kind="ConfigMap", outcome="applied") == 0


def test_an_unchanged_update_counts_its_resources_unchanged(client, counts):
    deploy(client, template("app", config_map("a"), config_map("b", {"k": "1"})))
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="unchanged")
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="applied")
    counts.watch("dm_operations_total", type="update", outcome="succeeded")
    response = client.put(
        "/deployments/app?wait=true",
        json=template("app", config_map("a"), config_map("b", {"k": "2"})),
    )
    assert response.status_code == 200, response.get_json()
    assert counts("dm_resources_total", kind="ConfigMap", outcome="unchanged") == 1
    assert counts("dm_resources_total", kind="ConfigMap", outcome="applied") == 1
    assert counts("dm_operations_total", type="update", outcome="succeeded") == 1


def test_a_delete_counts_each_deleted_resource(client, counts):
    deploy(client, template("app", config_map("a"), service("web")))
    counts.watch("dm_operations_total", type="delete", outcome="succeeded")
    counts.watch("dm_resources_total", kind="ConfigMap", outcome="deleted")
    counts.watch("dm_resources_total", kind="Service", outcome="deleted")
    assert client.delete("/deployments/app?wait=true").status_code == 200
    assert counts("dm_operations_total", type="delete", outcome="succeeded") == 1
    assert counts("dm_resources_total", kind="ConfigMap", outcome="deleted") == 1
    assert counts("dm_resources_total", kind="Service", outcome="deleted") == 1


def test_a_health_wait_that_runs_out_of_time_counts_as_failed(client, fakes, counts):
    fakes.resourcifier.unhealthy["web"] = "0/1 ready"
    counts.watch("dm_health_waits_total", outcome="failed")
    counts.watch("dm_health_wait_duration_seconds_count")
    counts.watch("dm_operations_total", type="create", outcome="failed")
    deploy(client, template("app", service("web"), options={"timeout": 0.3}))
    assert counts("dm_health_waits_total", outcome="failed") == 1
    assert counts("dm_health_wait_duration_seconds_count") == 1
    assert counts("dm_operations_total", type="create", outcome="failed") == 1


def test_the_timed_repository_times_each_call_by_method_and_answers_as_the_repository(
    fakes, counts
):
    repository = TimedRepository(fakes.repository)
    counts.watch("dm_repository_duration_seconds_count", operation="list_deployment_names")
    assert repository.list_deployment_names() == fakes.repository.list_deployment_names()
    assert repository.list_deployment_names() == []
    assert counts("dm_repository_duration_seconds_count", operation="list_deployment_names") == 2


def test_the_manager_serves_its_metrics_without_the_api_token(fakes):
    app = create_app(
        {"DATA_DIR": "unused", "EXPANDER_URL": "http://x", "RESOURCIFIER_URL": "http://y",
         "API_TOKEN": "secret"},
        services=fakes,
    )
    client = app.test_client()
    assert client.get("/deployments").status_code == 401
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "dm_operations_total" in response.text


def test_a_background_operation_calls_downstream_with_the_id_of_the_request_that_started_it(
    client, fakes
):
    seen = []
    apply = fakes.resourcifier.apply

    def recording_apply(resources, namespace):
        seen.append(current_request_id())
        return apply(resources, namespace)

    fakes.resourcifier.apply = recording_apply
    fakes.runner = Runner(fakes, workers=1)
    try:
        response = client.post(
            "/deployments", json=template("app", config_map("a")), headers={"X-Request-ID": "r-1"}
        )
        assert response.status_code == 202
        assert response.headers["X-Request-ID"] == "r-1"
        wait_until(
            lambda: client.get("/deployments/app").get_json()["state"]["status"] == "Deployed"
        )
    finally:
        fakes.runner.stop()
    assert seen == ["r-1", "r-1"]  # the namespace, then the resource
