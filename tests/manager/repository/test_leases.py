"""Leases: a process keeps its operations' heartbeats fresh, and takes over orphaned ones."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time

import pytest
import sqlalchemy

from manager.models import SUCCEEDED
from manager.repository import SqlRepository
from manager.repository.lease import owner_is_dead, process_owner
from manager.repository.schema import operations
from tests.manager.repository.builders import deployment, end, operation
from tests.manager.repository.interleave import call_while_another_writes, postgresql_only

LEASE = 20.0

PRINT_OWNER = """
import sys
from manager.repository.lease import process_owner
print(process_owner(), flush=True)
sys.stdin.read()  # stay alive until the test closes our input
"""


@pytest.fixture
def live_owner():
    """The owner string of another process of this host, alive for the test."""
    child = subprocess.Popen(
        [sys.executable, "-c", PRINT_OWNER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    yield child.stdout.readline().strip()
    child.stdin.close()
    child.wait(timeout=30)


@pytest.fixture
def dead_owner() -> str:
    """The owner string of a process of this host that has exited."""
    finished = subprocess.run(
        [sys.executable, "-c", PRINT_OWNER],
        input="",
        capture_output=True,
        text=True,
        check=True,
    )
    owner = finished.stdout.strip()
    assert owner_is_dead(owner)
    return owner


def _running(repo, name: str = "web"):
    """A running operation of deployment `name`, newly created and owned by `repo`."""
    creating = operation(name)
    repo.start_operation(creating, deployment(name), create=True)
    return creating


def _set_lease(raw, operation_id: str, owner: str | None, heartbeat: float | None) -> None:
    with raw.begin() as conn:
        conn.execute(
            sqlalchemy.update(operations)
            .where(operations.c.id == operation_id)
            .values(owner=owner, heartbeat=heartbeat)
        )


def _lease(raw, operation_id: str) -> tuple[str | None, float | None]:
    with raw.connect() as conn:
        row = conn.execute(
            sqlalchemy.select(operations.c.owner, operations.c.heartbeat).where(
                operations.c.id == operation_id
            )
        ).one()
    return row.owner, row.heartbeat


def test_a_started_operation_is_owned_by_this_process_with_a_fresh_heartbeat(repo, raw):
    before = time.time()
    started = _running(repo)

    owner, heartbeat = _lease(raw, started.id)

    assert owner == repo.owner == process_owner()
    assert heartbeat >= before


def test_renewing_refreshes_only_this_process_s_unended_operations(repo, raw, live_owner):
    mine = _running(repo, "mine")
    theirs = _running(repo, "theirs")
    finished = _running(repo, "finished")
    end(repo, finished)
    _set_lease(raw, mine.id, repo.owner, 1.0)
    _set_lease(raw, theirs.id, live_owner, 1.0)
    _set_lease(raw, finished.id, repo.owner, 1.0)

    repo.renew_leases()

    assert _lease(raw, mine.id)[1] > 1.0
    assert _lease(raw, theirs.id) == (live_owner, 1.0)
    assert _lease(raw, finished.id) == (repo.owner, 1.0)


def test_an_operation_whose_heartbeat_expired_is_claimed(repo, raw):
    orphan = _running(repo)
    _set_lease(raw, orphan.id, "elsewhere/41/7", time.time() - 3 * LEASE)

    assert repo.claim_orphaned_operations(LEASE) == [orphan.id]
    owner, heartbeat = _lease(raw, orphan.id)
    assert owner == repo.owner
    assert heartbeat > time.time() - LEASE


def test_an_operation_of_a_dead_process_of_this_host_is_claimed_at_once(repo, raw, dead_owner):
    orphan = _running(repo)
    _set_lease(raw, orphan.id, dead_owner, time.time())

    assert repo.claim_orphaned_operations(LEASE) == [orphan.id]
    assert _lease(raw, orphan.id)[0] == repo.owner


def test_an_operation_without_an_owner_is_claimed(repo, raw):
    orphan = _running(repo)
    _set_lease(raw, orphan.id, None, None)

    assert repo.claim_orphaned_operations(LEASE) == [orphan.id]


def test_an_operation_of_a_live_process_is_never_claimed(repo, raw, live_owner):
    alive = _running(repo)
    heartbeat = time.time()
    _set_lease(raw, alive.id, live_owner, heartbeat)

    assert repo.claim_orphaned_operations(LEASE) == []
    assert _lease(raw, alive.id) == (live_owner, heartbeat)


def test_a_fresh_operation_of_another_host_is_left_alone(repo, raw):
    remote = _running(repo)
    heartbeat = time.time()
    _set_lease(raw, remote.id, "elsewhere/41/7", heartbeat)

    assert repo.claim_orphaned_operations(LEASE) == []
    assert _lease(raw, remote.id) == ("elsewhere/41/7", heartbeat)


def test_own_and_ended_operations_are_not_claimed(repo, raw):
    _running(repo, "mine")
    finished = _running(repo, "finished")
    end(repo, finished)
    _set_lease(raw, finished.id, "elsewhere/41/7", 1.0)

    assert repo.claim_orphaned_operations(LEASE) == []


def _claim_in_process(url: str, barrier, results) -> None:
    repository = SqlRepository(url)
    barrier.wait()
    results.put(repository.claim_orphaned_operations(LEASE))
    repository.close()


def test_of_two_concurrent_claimants_one_wins_each_operation(repo, raw, database_url):
    orphans = [_running(repo, f"web-{index}").id for index in range(10)]
    for orphan in orphans:
        _set_lease(raw, orphan, "elsewhere/41/7", 1.0)
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    results = context.Queue()
    claimants = [
        context.Process(target=_claim_in_process, args=(database_url, barrier, results))
        for _ in range(2)
    ]
    for claimant in claimants:
        claimant.start()
    first, second = (results.get(timeout=60) for _ in claimants)
    for claimant in claimants:
        claimant.join(timeout=60)

    assert sorted(first + second) == sorted(orphans)
    assert not set(first) & set(second)


def _claim_while_changed(raw, repo, orphan_id: str, change: dict) -> list[str]:
    """Claim while another transaction holds the operation's row and applies `change`."""
    row = operations.c.id == orphan_id
    return call_while_another_writes(
        raw,
        lambda conn: conn.execute(sqlalchemy.select(operations.c.id).where(row).with_for_update()),
        lambda conn: conn.execute(sqlalchemy.update(operations).where(row).values(**change)),
        lambda: repo.claim_orphaned_operations(LEASE),
    )


@postgresql_only
def test_an_operation_renewed_while_being_claimed_stays_with_its_owner(repo, raw, database_url):
    orphan = _running(repo)
    _set_lease(raw, orphan.id, "elsewhere/41/7", 1.0)

    claimed = _claim_while_changed(raw, repo, orphan.id, {"heartbeat": time.time()})

    assert claimed == []
    assert _lease(raw, orphan.id)[0] == "elsewhere/41/7"


@postgresql_only
def test_an_operation_ended_while_being_claimed_is_not_claimed(repo, raw, database_url):
    orphan = _running(repo)
    _set_lease(raw, orphan.id, "elsewhere/41/7", 1.0)

    claimed = _claim_while_changed(raw, repo, orphan.id, {"status": SUCCEEDED})

    assert claimed == []
    assert _lease(raw, orphan.id)[0] == "elsewhere/41/7"
