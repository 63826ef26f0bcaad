"""Engines and transactions: SQLite tuned for several worker processes, PostgreSQL pooled."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError

from dmcommon.errors import ServiceUnavailable


def open_engine(url: str) -> Engine:
    """An engine on `url`; SQLite connections get WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def transaction(engine: Engine, write: bool = False) -> Iterator[Connection]:
    """A transaction; on SQLite, a writing one takes the write lock up front.

    Taking it at BEGIN (rather than at the first write) lets SQLite's busy timeout
    queue writers instead of failing a read-then-write transaction with "locked".
    A database that cannot be reached is `ServiceUnavailable`.
    """
    try:
        with engine.connect() as conn:
            if write:
                conn.execution_options(dm_write=True)
            with conn.begin():
                yield conn
    except IntegrityError:
        raise
    except DBAPIError as error:
        raise ServiceUnavailable(f"database unavailable: {_first_line(error.orig)}") from None


def _configure_sqlite(dbapi_connection, _record) -> None:
    # Transactions are begun by `_begin_sqlite`, not by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while a writer commits: several gunicorn workers share the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite(conn: Connection) -> None:
    conn.exec_driver_sql(
        "BEGIN IMMEDIATE" if conn.get_execution_options().get("dm_write") else "BEGIN"
    )


def _first_line(error: BaseException | None) -> str:
    lines = str(error or "").strip().splitlines()
    return lines[0] if lines else "no connection"
