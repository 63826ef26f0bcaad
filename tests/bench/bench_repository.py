"""Repository latency with 10,000 stored deployments, on SQLite and (when reachable) PostgreSQL.

Run: .venv/bin/python -m tests.bench.bench_repository

Prints one line per database: median and 99th-percentile `get_deployment`, one
`list_deployment_names`, and one `begin_operation` + `save_deployment` cycle.
The target is `get_deployment` under 10 ms median.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
import uuid

import psycopg
import sqlalchemy

from manager.models import DEPLOYED, UPDATING, State
from manager.repository import SqlRepository
from manager.repository.schema import deployments
from tests.manager.repository.builders import deployment
from tests.manager.repository.conftest import POSTGRES_URL

COUNT = 10_000
SAMPLES = 2_000


def _fill(url: str) -> None:
    """Insert COUNT deployments in one statement: the fill is not what is measured."""
    rows = []
    for index in range(COUNT):
        item = deployment(f"app-{index:05d}")
        rows.append(
            {
                "name": item.name,
                "namespace": item.namespace,
                "created_at": item.created_at,
                "deployed_at": item.deployed_at,
                "modified_at": item.modified_at,
                "status": item.state.status,
                "errors": "[]",
                "latest_manifest": None,
                "fingerprint": uuid.uuid4().hex,
            }
        )
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.insert(deployments), rows)
    engine.dispose()


def _measure(label: str, url: str) -> None:
    repository = SqlRepository(url)
    try:
        _fill(url)
        names = [f"app-{random.randrange(COUNT):05d}" for _ in range(SAMPLES)]
        timings = []
        for name in names:
            started = time.perf_counter()
            repository.get_deployment(name)
            timings.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        listed = repository.list_deployment_names()
        listing = (time.perf_counter() - started) * 1000
        assert len(listed) == COUNT
        started = time.perf_counter()
        locked = repository.begin_operation(names[0], UPDATING)
        locked.state = State(DEPLOYED)
        repository.save_deployment(locked)
        cycle = (time.perf_counter() - started) * 1000
    finally:
        repository.close()
    timings.sort()
    print(
        f"{label}: get_deployment with {COUNT} stored: median {statistics.median(timings):.2f} ms, "
        f"p99 {timings[int(len(timings) * 0.99)]:.2f} ms; list names {listing:.1f} ms; "
        f"lock+save {cycle:.1f} ms"
    )


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="dm-bench-repository-")
    try:
        _measure("sqlite", f"sqlite:///{workdir}/dm.sqlite")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        print(f"postgresql: skipped, {POSTGRES_URL} unreachable: {error}")
        return
    schema = f"dm_bench_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")
    try:
        base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
        _measure("postgresql", f"{base}?options=-csearch_path%3D{schema}")
    finally:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()


if __name__ == "__main__":
    main()
