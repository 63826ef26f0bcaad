"""Operations: started with their deployment at once, one at a time, recorded with events."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy

from dmcommon.errors import Conflict, NotFound
from manager.models import (
    CANCELLED,
    CREATE,
    FAILED,
    RUNNING,
    SUCCEEDED,
    UPDATE,
    UPDATING,
    Options,
    State,
    Step,
)
from manager.repository import SqlRepository
from manager.repository.rows import operation_values
from manager.repository.schema import deployments, operations
from tests.manager.repository.builders import created, deployment, end, manifest, operation
from tests.manager.repository.interleave import call_while_another_writes, postgresql_only


def _update(repo, name: str = "web", **options):
    """Start an update of stored deployment `name`; the stored deployment and operation."""
    current = repo.get_deployment(name)
    current.state = State(UPDATING)
    updating = operation(name, UPDATE)
    return repo.start_operation(updating, current, **options), updating


def test_create_stores_the_deployment_its_manifest_and_the_operation_together(repo):
    first = manifest("web")
    creating = operation("web", manifest_name=first.name)
    creating.steps = [Step("ConfigMap/cm", "apply")]
    creating.options = Options(timeout=60.0, atomic=True)

    stored = repo.start_operation(creating, deployment("web"), first, create=True)

    assert stored.operation == creating.id
    assert repo.get_deployment("web") == stored
    assert repo.get_manifest("web", first.name).operation == creating.id
    loaded = repo.get_operation(creating.id)
    assert loaded == creating
    assert loaded.owner == repo.owner


def test_create_of_an_existing_name_conflicts_and_stores_nothing(repo):
    original = created(repo, "web")
    second = manifest("web")
    creating = operation("web", manifest_name=second.name)

    with pytest.raises(
        Conflict,
        match='^deployment "web" already exists: update it with PUT /deployments/web '
        "or delete it first$",
    ):
        repo.start_operation(creating, deployment("web"), second, create=True)
    assert repo.get_deployment("web") == original
    assert repo.list_manifests("web") == []
    with pytest.raises(NotFound):
        repo.get_operation(creating.id)


def test_an_operation_on_a_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.start_operation(operation("ghost", UPDATE), deployment("ghost"))
    assert repo.list_deployment_names() == []


def test_a_second_operation_conflicts_while_one_runs_naming_it(repo):
    created(repo, "web")
    busy, running = _update(repo)
    second = operation("web", UPDATE)

    with pytest.raises(
        Conflict,
        match=f'^deployment "web" is busy: operation {running.id} \\(update\\) is running; '
        f"wait for it \\(GET /operations/{running.id}\\) or cancel it$",
    ):
        repo.start_operation(second, deployment("web"))
    assert repo.get_deployment("web") == busy
    with pytest.raises(NotFound, match=f'^operation "{second.id}" not found$'):
        repo.get_operation(second.id)


def test_a_stale_fingerprint_conflicts_and_stores_nothing(repo):
    stale = created(repo, "web")
    current = repo.save_deployment(stale)
    updating = operation("web", UPDATE)

    with pytest.raises(Conflict, match=f'fingerprint "{stale.fingerprint}" is stale'):
        repo.start_operation(updating, stale, expected_fingerprint=stale.fingerprint)
    assert repo.get_deployment("web") == current
    assert [item.type for item in repo.list_operations("web")] == [CREATE]


def test_the_current_fingerprint_lets_an_operation_start(repo):
    stored = created(repo, "web")

    busy, updating = _update(repo, expected_fingerprint=stored.fingerprint)

    assert busy.fingerprint != stored.fingerprint
    assert repo.get_deployment("web").operation == updating.id


def test_an_operation_starts_once_the_running_one_has_ended(repo):
    created(repo, "web")
    _, first = _update(repo)
    end(repo, first, FAILED)

    busy, second = _update(repo)

    assert busy.operation == second.id


def test_racing_threads_start_exactly_one_operation(open_repo):
    workers = [open_repo() for _ in range(6)]
    created(workers[0], "web")
    barrier = threading.Barrier(len(workers))
    outcomes: list[str] = []

    def attempt(repository: SqlRepository) -> None:
        barrier.wait()
        try:
            _update(repository)
            outcomes.append("started")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt, args=(item,)) for item in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * 5 + ["started"]


@postgresql_only
def test_a_start_waiting_for_a_concurrent_one_conflicts_once_that_commits(repo, raw, database_url):
    created(repo, "web")
    rival = operation("web", UPDATE)
    rival.owner = "elsewhere/41/7"
    row = deployments.c.name == "web"

    def start_rival(conn) -> None:
        conn.execute(sqlalchemy.update(deployments).where(row).values(operation=rival.id))
        conn.execute(sqlalchemy.insert(operations).values(**operation_values(rival)))

    outcome = call_while_another_writes(
        raw,
        lambda conn: conn.execute(
            sqlalchemy.select(deployments.c.name).where(row).with_for_update()
        ),
        start_rival,
        lambda: _update(repo),
    )

    assert isinstance(outcome, Conflict)
    assert f"operation {rival.id} (update) is running" in outcome.message
    assert repo.get_deployment("web").operation == rival.id


def test_operations_list_newest_first(repo):
    created(repo, "web")
    _, first = _update(repo)
    end(repo, first)
    _, second = _update(repo)
    created(repo, "other")

    listed = repo.list_operations("web")

    assert [item.id for item in listed] == [second.id, first.id, listed[2].id]
    assert [item.type for item in listed] == [UPDATE, UPDATE, CREATE]


def test_operations_of_an_unknown_deployment_are_not_found(repo):
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.list_operations("ghost")


def test_missing_operation_is_not_found(repo):
    with pytest.raises(NotFound, match='^operation "nope" not found$'):
        repo.get_operation("nope")


def test_save_operation_records_status_steps_and_errors(repo):
    created(repo, "web")
    _, updating = _update(repo)
    updating.status = FAILED
    updating.steps = [Step("ConfigMap/cm", "apply", FAILED, "refused")]
    updating.errors = ["ConfigMap/cm: refused"]
    updating.started_at = "2026-11-30T00:00:00.000000Z"
    updating.ended_at = "2026-11-30T00:00:01.000000Z"

    repo.save_operation(updating)

    assert repo.get_operation(updating.id) == updating


def test_saving_an_operation_that_was_never_started_is_not_found_and_stores_no_events(repo):
    created(repo, "web")
    never = operation("web", UPDATE)

    with pytest.raises(NotFound, match=f'^operation "{never.id}" not found$'):
        repo.save_operation(never, [{"type": "step"}])
    assert repo.events_since(never.id, 0) == []


def test_events_are_numbered_from_one_across_saves(repo):
    created(repo, "web")
    _, updating = _update(repo)

    repo.save_operation(updating, [{"type": "step", "n": 1}, {"type": "step", "n": 2}])
    repo.save_operation(updating)
    repo.save_operation(updating, [{"type": "end"}])

    assert repo.events_since(updating.id, 0) == [
        (1, {"type": "step", "n": 1}),
        (2, {"type": "step", "n": 2}),
        (3, {"type": "end"}),
    ]


def test_events_since_gives_only_later_events(repo):
    created(repo, "web")
    _, updating = _update(repo)
    repo.save_operation(updating, [{"n": 1}, {"n": 2}, {"n": 3}])

    assert repo.events_since(updating.id, 2) == [(3, {"n": 3})]
    assert repo.events_since(updating.id, 3) == []


def test_events_of_two_operations_are_numbered_apart(repo):
    created(repo, "web")
    created(repo, "db")
    _, web = _update(repo, "web")
    _, db = _update(repo, "db")

    repo.save_operation(web, [{"n": "web"}])
    repo.save_operation(db, [{"n": "db"}])

    assert repo.events_since(db.id, 0) == [(1, {"n": "db"})]


def test_saving_an_operation_keeps_its_lease_and_cancel_request(repo):
    created(repo, "web")
    _, updating = _update(repo)
    repo.request_cancel(updating.id)
    updating.owner = "elsewhere/1/1"
    updating.cancel_requested = False

    repo.save_operation(updating)

    loaded = repo.get_operation(updating.id)
    assert loaded.owner == repo.owner
    assert loaded.cancel_requested is True


def test_request_cancel_marks_a_running_operation(repo):
    created(repo, "web")
    _, updating = _update(repo)

    answered = repo.request_cancel(updating.id)

    assert answered.cancel_requested is True
    assert answered.status == RUNNING
    assert repo.get_operation(updating.id).cancel_requested is True


@pytest.mark.parametrize("status", [SUCCEEDED, FAILED, CANCELLED])
def test_cancelling_an_ended_operation_conflicts(repo, status):
    created(repo, "web")
    _, updating = _update(repo)
    end(repo, updating, status)

    with pytest.raises(
        Conflict, match=f'^operation "{updating.id}" has already ended \\({status}\\)$'
    ):
        repo.request_cancel(updating.id)
    assert repo.get_operation(updating.id).cancel_requested is False


def test_cancelling_a_missing_operation_is_not_found(repo):
    with pytest.raises(NotFound, match='^operation "nope" not found$'):
        repo.request_cancel("nope")
