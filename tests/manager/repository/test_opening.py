"""Opening a repository: where it lives, its schema, restarts and health."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
import sqlalchemy

from dmcommon.errors import ServiceUnavailable
from manager.models import CREATED, SUCCEEDED, ResourceState
from manager.repository import (
    SqlRepository,
    open_repository,
    resolve_database_url,
)
from manager.repository.schema import SCHEMA_VERSION, schema_version
from tests.manager.repository.builders import created, instance, manifest


def test_everything_survives_a_restart(open_repo):
    first = open_repo()
    stored = manifest("web")
    stored.resources[0].state = ResourceState(CREATED)
    deployed = created(first, "web", stored)
    first.set_type_instances("web", [instance("site.py", "front")])
    first.close()

    second = open_repo()
    assert second.get_deployment("web") == deployed
    assert second.get_manifest("web", stored.name) == stored
    assert [item.status for item in second.list_operations("web")] == [SUCCEEDED]
    assert second.list_type_instances("site.py") == [instance("site.py", "front")]


def test_schema_version_is_recorded_once(open_repo, raw):
    open_repo()
    open_repo()
    with raw.connect() as conn:
        versions = conn.execute(sqlalchemy.select(schema_version.c.version)).scalars().all()
    assert versions == [SCHEMA_VERSION]


def test_newer_schema_refuses_to_open(open_repo, raw):
    open_repo()
    with raw.begin() as conn:
        conn.execute(sqlalchemy.insert(schema_version).values(version=SCHEMA_VERSION + 1))

    with pytest.raises(ServiceUnavailable, match="newer than this manager understands"):
        open_repo()


def test_check_passes_on_a_reachable_database(repo):
    repo.check()


def test_unreachable_database_is_service_unavailable(tmp_path):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    with pytest.raises(ServiceUnavailable, match="database unavailable: .*127.0.0.1"):
        SqlRepository(url)


def test_default_is_a_sqlite_file_in_a_created_data_directory(tmp_path):
    data_dir = tmp_path / "state" / "dm"
    repository = open_repository(None, str(data_dir))
    try:
        created(repository, "web")
    finally:
        repository.close()

    path = data_dir / "dm.sqlite"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT name FROM dm_deployments").fetchall() == [("web",)]


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u@db/dm", "postgresql+psycopg://u@db/dm"),
        ("postgresql://u@db/dm", "postgresql+psycopg://u@db/dm"),
        ("postgresql+psycopg://u@db/dm", "postgresql+psycopg://u@db/dm"),
        ("sqlite:////var/dm.db", "sqlite:////var/dm.db"),
    ],
)
def test_database_urls_name_the_psycopg_driver(given, expected, tmp_path):
    assert resolve_database_url(given, str(tmp_path / "unused")) == expected
    assert not (tmp_path / "unused").exists()


def _create_many(url: str, prefix: str, count: int) -> None:
    repository = SqlRepository(url)
    for index in range(count):
        created(repository, f"{prefix}-{index:03d}")
    repository.close()


def test_several_processes_write_one_database_without_errors(repo, database_url):
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_create_many, args=(database_url, f"p{number}", 25))
        for number in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert len(repo.list_deployment_names()) == 100
