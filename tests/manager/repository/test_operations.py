"""The one-operation-per-deployment lock, its heartbeat and recovery from crashes."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy

from dmcommon.errors import Conflict, NotFound
from manager.models import DELETING, DEPLOYED, DEPLOYING, FAILED, UPDATING, State
from manager.repository import SqlRepository
from manager.repository.schema import deployments
from tests.manager.repository.builders import deployment
from tests.support import wait_until


def _lease(raw, name: str) -> tuple[str | None, float | None]:
    with raw.connect() as conn:
        row = conn.execute(
            sqlalchemy.select(
                deployments.c.operation_owner, deployments.c.operation_heartbeat
            ).where(deployments.c.name == name)
        ).one()
    return row.operation_owner, row.operation_heartbeat


def _set_lease(raw, name: str, owner: str, heartbeat: float) -> None:
    with raw.begin() as conn:
        conn.execute(
            sqlalchemy.update(deployments)
            .where(deployments.c.name == name)
            .values(operation_owner=owner, operation_heartbeat=heartbeat)
        )


def test_begin_operation_locks_an_idle_deployment(repo):
    created = repo.create_deployment(deployment("web", errors=["previous failure"]))

    started = repo.begin_operation("web", UPDATING, expected_fingerprint=created.fingerprint)

    assert started.state == State(UPDATING, [])
    assert started.fingerprint != created.fingerprint
    assert repo.get_deployment("web") == started


def test_second_operation_conflicts_while_one_is_in_progress(repo):
    repo.create_deployment(deployment("web"))
    started = repo.begin_operation("web", UPDATING)

    with pytest.raises(Conflict, match=r'deployment "web" is busy: .*\(Updating\) is in progress'):
        repo.begin_operation("web", DELETING)
    assert repo.get_deployment("web") == started


def test_creating_in_progress_holds_the_lock(repo):
    repo.create_deployment(deployment("web", status=DEPLOYING))

    with pytest.raises(Conflict, match="busy"):
        repo.begin_operation("web", UPDATING)


def test_saving_an_idle_status_releases_the_lock(repo):
    repo.create_deployment(deployment("web"))
    started = repo.begin_operation("web", UPDATING)
    started.state = State(DEPLOYED)
    repo.save_deployment(started)

    assert repo.begin_operation("web", DELETING).state.status == DELETING


def test_begin_operation_with_a_stale_fingerprint_conflicts_and_changes_nothing(repo):
    created = repo.create_deployment(deployment("web"))
    current = repo.save_deployment(created)

    with pytest.raises(Conflict, match=f'fingerprint "{created.fingerprint}" is stale'):
        repo.begin_operation("web", UPDATING, expected_fingerprint=created.fingerprint)
    assert repo.get_deployment("web") == current


def test_begin_operation_on_a_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.begin_operation("ghost", UPDATING)


def test_begin_operation_needs_an_in_progress_status(repo):
    repo.create_deployment(deployment("web"))
    with pytest.raises(ValueError, match="not an operation status"):
        repo.begin_operation("web", FAILED)


def _try_operation(repository: SqlRepository) -> str:
    try:
        repository.begin_operation("web", UPDATING)
        return "started"
    except Conflict:
        return "conflict"


def test_racing_threads_start_exactly_one_operation(open_repo):
    workers = [open_repo() for _ in range(6)]
    workers[0].create_deployment(deployment("web"))
    barrier = threading.Barrier(len(workers))
    outcomes: list[str] = []

    def attempt(repository: SqlRepository) -> None:
        barrier.wait()
        outcomes.append(_try_operation(repository))

    threads = [threading.Thread(target=attempt, args=(item,)) for item in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * 5 + ["started"]


def _attempt_in_process(url: str, barrier, results) -> None:
    repository = SqlRepository(url)
    barrier.wait()
    results.put(_try_operation(repository))
    repository.close()


def test_racing_processes_start_exactly_one_operation(repo, database_url):
    repo.create_deployment(deployment("web"))
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(target=_attempt_in_process, args=(database_url, barrier, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = sorted(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(timeout=60)

    assert outcomes == ["conflict"] * 3 + ["started"]


CRASHING_MANAGER = """
import os, sys
from manager.repository import SqlRepository
repository = SqlRepository(sys.argv[1])
repository.begin_operation("web", sys.argv[2])
os._exit(0)  # die without releasing anything, as a killed manager would
"""


def test_operation_of_a_dead_process_is_failed_at_start_up(repo, open_repo, database_url):
    repo.create_deployment(deployment("web"))
    repo.create_deployment(deployment("idle"))
    subprocess.run([sys.executable, "-c", CRASHING_MANAGER, database_url, UPDATING], check=True)
    assert repo.get_deployment("web").state.status == UPDATING

    restarted = open_repo()
    assert restarted.fail_interrupted_operations() == ["web"]

    stored = restarted.get_deployment("web")
    assert stored.state == State(FAILED, ["interrupted: the manager stopped during update"])
    assert restarted.get_deployment("idle").state.status == DEPLOYED
    assert restarted.begin_operation("web", DELETING).state.status == DELETING


def test_operation_of_a_live_worker_is_left_alone(open_repo):
    worker = open_repo()
    worker.create_deployment(deployment("web"))
    started = worker.begin_operation("web", UPDATING)

    assert open_repo().fail_interrupted_operations() == []
    assert worker.get_deployment("web") == started


def test_fresh_operation_of_another_host_is_left_alone(repo, raw):
    repo.create_deployment(deployment("web"))
    repo.begin_operation("web", DELETING)
    _set_lease(raw, "web", "other-host/1/1", time.time())

    assert repo.fail_interrupted_operations() == []
    with pytest.raises(Conflict, match="busy"):
        repo.begin_operation("web", UPDATING)


def test_operation_whose_lease_ran_out_is_failed(repo, raw):
    repo.create_deployment(deployment("web"))
    repo.begin_operation("web", DELETING)
    _set_lease(raw, "web", "other-host/1/1", time.time() - repo.lease_seconds - 1)

    assert repo.fail_interrupted_operations() == ["web"]
    assert repo.get_deployment("web").state == State(
        FAILED, ["interrupted: the manager stopped during delete"]
    )


def test_begin_operation_takes_over_a_lock_whose_lease_ran_out(repo, raw):
    repo.create_deployment(deployment("web"))
    repo.begin_operation("web", DELETING)
    _set_lease(raw, "web", "other-host/1/1", time.time() - repo.lease_seconds - 1)

    assert repo.begin_operation("web", UPDATING).state.status == UPDATING
    assert _lease(raw, "web")[0] == repo.owner


def test_heartbeat_keeps_a_long_operation_alive(open_repo, raw):
    owner = open_repo(lease_seconds=0.4)
    owner.create_deployment(deployment("web"))
    owner.begin_operation("web", UPDATING)
    first = _lease(raw, "web")[1]

    wait_until(lambda: _lease(raw, "web")[1] > first + 0.5, timeout=10)

    other = open_repo(lease_seconds=0.4)
    _, beat = _lease(raw, "web")
    assert beat > time.time() - 0.4
    with pytest.raises(Conflict, match="busy"):
        other.begin_operation("web", DELETING)


def test_idle_deployments_carry_no_lease(repo, raw):
    repo.create_deployment(deployment("web"))
    started = repo.begin_operation("web", UPDATING)
    assert _lease(raw, "web")[0] == repo.owner
    started.state = State(DEPLOYED)
    repo.save_deployment(started)

    assert _lease(raw, "web") == (None, None)
