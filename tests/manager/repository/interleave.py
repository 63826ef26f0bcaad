"""Running a repository call while another PostgreSQL transaction holds what it needs.

SQLite runs one writing transaction at a time, so nothing can interleave there: the tests
that use this run on PostgreSQL only (`postgresql_only`).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

import pytest
import sqlalchemy
from sqlalchemy import Connection, Engine

from tests.support import wait_until

postgresql_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
"""Run a test on PostgreSQL only, instead of on both databases."""


def call_while_another_writes(
    raw: Engine,
    hold: Callable[[Connection], Any],
    write: Callable[[Connection], Any],
    call: Callable[[], Any],
) -> Any:
    """Run `call` in a thread while a transaction that ran `hold` is open; once `call`
    waits for that transaction's locks, run `write` in it and commit.

    Returns what `call` returned, or the exception it raised.
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome.append(error)

    with raw.connect() as holder:
        transaction = holder.begin()
        hold(holder)
        caller = threading.Thread(target=run)
        caller.start()
        wait_until(lambda: _someone_waits_for(holder))
        write(holder)
        transaction.commit()
        caller.join(timeout=60)
    return outcome[0]


def _someone_waits_for(conn: Connection) -> bool:
    """Whether another session waits for a lock `conn` holds."""
    return bool(
        conn.execute(
            sqlalchemy.text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
        ).scalar()
    )
