"""Operations as a client sees them: 202 and Location, the events stream, cancel, health
checks that answer while operations run, deploys longer than a worker's timeout."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from tests.manager.conftest import start_manager
from tests.manager.test_e2e_workflow import config_map, live, sim, template
from tests.support import wait_until


@pytest.fixture
def dm(request, tmp_path, simulator, expander_url, resourcifier_url):
    manager = start_manager(request, tmp_path, simulator, expander_url, resourcifier_url)
    yield manager
    sim(manager, "POST", "latency", {"seconds": 0})


def chain(count: int, prefix: str = "cm") -> list[dict]:
    """`count` ConfigMaps, each referencing the one before: `count` dependency levels."""
    resources = [config_map(f"{prefix}-0")]
    for index in range(1, count):
        resources.append(
            config_map(f"{prefix}-{index}", up=f"$(ref.{prefix}-{index - 1}.metadata.uid)")
        )
    return resources


def read_events(url: str, last_event_id: str | None = None) -> list[tuple[str, str, dict]]:
    """(id, event, data) of every event of a stream, until the server closes it."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    events = []
    with requests.get(url, headers=headers, stream=True, timeout=60) as response:
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines(decode_unicode=True):
            if line == "":
                if "data" in fields:
                    events.append(
                        (fields.get("id", ""), fields["event"], json.loads(fields["data"]))
                    )
                fields = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                fields[key] = value
    return events


def test_a_change_is_accepted_with_its_operation_and_location(dm, namespace):
    response = dm.api("POST", "/deployments", json=template("app", namespace, *chain(2)))
    assert response.status_code == 202
    operation = response.json()
    assert response.headers["Location"] == f"/operations/{operation['id']}"
    assert operation["type"] == "create"
    assert operation["deployment"] == "app"
    assert operation["progress"]["total"] == 4  # an apply and a wait step per resource
    assert [step["action"] for step in operation["steps"]] == ["apply", "wait", "apply", "wait"]
    listed = dm.api("GET", "/deployments/app/operations").json()
    assert [item["id"] for item in listed] == [operation["id"]]


def test_the_events_stream_follows_an_operation_to_its_end_and_replays(dm, namespace):
    operation = dm.api("POST", "/deployments", json=template("app", namespace, *chain(3))).json()
    url = f"{dm.url}/operations/{operation['id']}/events"
    events = read_events(url)
    kind, data = events[-1][1], events[-1][2]
    assert kind == "end"
    assert data["operation"]["status"] == "Succeeded"
    applied = [
        data["step"]["resource"]
        for _, kind, data in events
        if kind == "step"
        and data["step"]["action"] == "apply"
        and data["step"]["status"] == "Succeeded"
    ]
    assert applied == ["cm-0", "cm-1", "cm-2"]
    numbers = [int(number) for number, _, _ in events if number]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    middle = str(numbers[len(numbers) // 2])
    replayed = read_events(url, last_event_id=middle)
    assert [int(number) for number, _, _ in replayed if number] == [
        number for number in numbers if number > int(middle)
    ]
    assert replayed[-1][1] == "end"


def test_an_unknown_operation_is_a_404_and_cancelling_an_ended_one_a_409(dm, namespace):
    missing = dm.api("GET", "/operations/nope")
    assert missing.json() == {"status": 404, "message": 'operation "nope" not found'}
    assert dm.api("GET", "/operations/nope/events").status_code == 404
    assert dm.api("POST", "/operations/nope/cancel").status_code == 404
    done = dm.api("POST", "/deployments?wait=true", json=template("app", namespace, *chain(1)))
    operation = done.json()["operation"]
    refused = dm.api("POST", f"/operations/{operation}/cancel")
    assert refused.json() == {
        "status": 409,
        "message": f'operation "{operation}" has already ended (Succeeded)',
    }


def test_a_cancelled_operation_stops_after_its_running_step_and_records_what_it_applied(
    dm, namespace
):
    sim(dm, "POST", "latency", {"seconds": 0.3})
    operation = dm.api("POST", "/deployments", json=template("app", namespace, *chain(6))).json()
    wait_until(
        lambda: any(
            step["status"] == "Succeeded"
            for step in dm.api("GET", f"/operations/{operation['id']}").json()["steps"]
        )
    )
    assert dm.api("POST", f"/operations/{operation['id']}/cancel").status_code == 202
    sim(dm, "POST", "latency", {"seconds": 0})
    ended = wait_until(
        lambda: (lambda op: op if op["endedAt"] else None)(
            dm.api("GET", f"/operations/{operation['id']}").json()
        )
    )
    assert ended["status"] == "Cancelled"
    assert ended["errors"] == ["cancelled: the operation was cancelled on request"]
    deployment = dm.api("GET", "/deployments/app").json()
    assert deployment["state"]["status"] == "Failed"
    manifest = dm.api("GET", "/deployments/app/manifests/1").json()
    states = {
        item["name"]: item["state"]["status"] for item in manifest["expandedConfig"]["resources"]
    }
    applied = {name for name, status in states.items() if status == "Created"}
    assert applied and applied != set(states)
    for name, status in states.items():
        assert (live(dm, "configmap", namespace, name) is not None) == (status == "Created")
    # A deployment whose operation was cancelled can be deleted at once.
    assert dm.api("DELETE", "/deployments/app?wait=true").status_code == 200
    assert all(live(dm, "configmap", namespace, name) is None for name in states)


def test_health_checks_answer_while_four_operations_run(dm, namespace):
    sim(dm, "POST", "latency", {"seconds": 0.2})
    operations = [
        dm.api(
            "POST", "/deployments", json=template(f"app{i}", namespace, *chain(4, f"c{i}"))
        ).json()
        for i in range(4)
    ]
    for _ in range(10):
        # A 2 s limit: with operations inside the HTTP workers this waited for them.
        assert requests.get(f"{dm.url}/healthz", timeout=2).text == "ok"
    running = [dm.api("GET", f"/operations/{op['id']}").json()["status"] for op in operations]
    assert "Running" in running or "Pending" in running
    sim(dm, "POST", "latency", {"seconds": 0})
    for op in operations:
        ended = wait_until(lambda: dm.api("GET", f"/operations/{op['id']}").json()["endedAt"])
        assert ended


def test_a_deploy_longer_than_the_worker_timeout_succeeds(
    request, tmp_path, simulator, expander_url, resourcifier_url, namespace
):
    dm = start_manager(
        request, tmp_path, simulator, expander_url, resourcifier_url, flags=("--timeout", "2")
    )
    sim(dm, "POST", "latency", {"seconds": 0.5})
    try:
        response = dm.api(
            "POST", "/deployments?wait=true", json=template("app", namespace, *chain(4))
        )
    finally:
        sim(dm, "POST", "latency", {"seconds": 0})
    assert response.status_code == 201, response.text
    deployment = response.json()
    assert deployment["state"] == {"status": "Deployed", "errors": []}
    operation = dm.api("GET", f"/operations/{deployment['operation']}").json()
    assert operation["status"] == "Succeeded"
    assert live(dm, "configmap", namespace, "cm-3") is not None
    assert threading.active_count() >= 1
