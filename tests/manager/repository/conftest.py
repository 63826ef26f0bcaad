"""Each repository test runs on a fresh SQLite file and on a fresh PostgreSQL schema."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest
import sqlalchemy

from manager.repository import SqlRepository

POSTGRES_URL = os.environ.get("DM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_unreachable() -> str | None:
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}"
    return None


@pytest.fixture(scope="session")
def postgres_admin():
    """A connection for creating and dropping test schemas; skip (or fail in CI) without one."""
    problem = _postgres_unreachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so PostgreSQL tests must run)")
        pytest.skip(problem)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        yield conn


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A SQLAlchemy URL of an empty database of the parameter's kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dm.sqlite'}"
        return
    admin = request.getfixturevalue("postgres_admin")
    # A schema of its own per test: never touches other data in the shared database.
    schema = f"dm_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}?options=-csearch_path%3D{schema}"
    admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def open_repo(database_url):
    """Open another repository on the same database (another worker, replica or restart)."""
    opened: list[SqlRepository] = []

    def _open(**options) -> SqlRepository:
        repository = SqlRepository(database_url, **options)
        opened.append(repository)
        return repository

    yield _open
    for repository in opened:
        repository.close()


@pytest.fixture
def repo(open_repo) -> SqlRepository:
    return open_repo()


@pytest.fixture
def raw(database_url):
    """A plain engine on the test database, to arrange states the API cannot produce."""
    engine = sqlalchemy.create_engine(database_url)
    yield engine
    engine.dispose()
