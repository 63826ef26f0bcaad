"""Repository latency with 100,000 stored deployments, on SQLite and (when reachable)
PostgreSQL.

Run: .venv/bin/python -m tests.bench.bench_repository

Prints, per database, the median and 99th percentile of `GET /deployments/{name}`
(through the manager app) and of `get_deployment` alone, of a page of 100 names and of
100 full deployments after a random name, and of one start + end of an operation with
a new manifest. DESIGN §12's target: `GET /deployments/{name}` under 10 ms median.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
import uuid
from typing import Callable

import psycopg
import sqlalchemy

from manager.app import create_app
from manager.models import UPDATE
from manager.repository import SqlRepository
from manager.repository.rows import deployment_values
from manager.repository.schema import deployments
from tests.manager.repository.builders import deployment, end, manifest, operation
from tests.manager.repository.conftest import POSTGRES_URL

COUNT = 100_000
SAMPLES = 2_000
PAGE = 100
CYCLES = 50


def _fill(url: str) -> None:
    """Insert COUNT deployments in a few statements: the fill is not what is measured."""
    rows = []
    for index in range(COUNT):
        item = deployment(f"app-{index:06d}")
        item.fingerprint = uuid.uuid4().hex
        rows.append({"name": item.name, **deployment_values(item)})
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        for start in range(0, COUNT, 10_000):
            conn.execute(sqlalchemy.insert(deployments), rows[start : start + 10_000])
    engine.dispose()


def _timed(call: Callable[[], object], samples: int) -> str:
    """`median / p99` of `samples` calls, in milliseconds."""
    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return f"{statistics.median(timings):.2f} / {timings[int(len(timings) * 0.99)]:.2f} ms"


def _random_name() -> str:
    return f"app-{random.randrange(COUNT):06d}"


def _operation_cycle(repository: SqlRepository) -> None:
    """Start an update with a new manifest on a random deployment, then end it."""
    current = repository.get_deployment(_random_name())
    added = manifest(current.name, current.revision + 1)
    updating = operation(current.name, UPDATE, manifest_name=added.name)
    current.revision = added.revision
    repository.start_operation(updating, current, added)
    end(repository, updating)


def _measure(label: str, url: str, workdir: str) -> None:
    repository = SqlRepository(url)
    try:
        _fill(url)
        client = create_app(
            {
                "DATABASE_URL": url,
                "DATA_DIR": workdir,
                # Never called: reading a deployment needs neither service.
                "EXPANDER_URL": "http://127.0.0.1:9",
                "RESOURCIFIER_URL": "http://127.0.0.1:9",
            }
        ).test_client()

        def get_route() -> None:
            response = client.get(f"/deployments/{_random_name()}")
            assert response.status_code == 200, response.status_code

        print(f"{label} with {COUNT} deployments (median / p99):")
        print(f"  GET /deployments/{{name}}        {_timed(get_route, SAMPLES)}")
        print(
            "  get_deployment                 "
            f"{_timed(lambda: repository.get_deployment(_random_name()), SAMPLES)}"
        )
        print(
            f"  list_deployment_names({PAGE})    "
            f"{_timed(lambda: repository.list_deployment_names(PAGE, _random_name()), 500)}"
        )
        print(
            f"  list_deployments({PAGE})         "
            f"{_timed(lambda: repository.list_deployments(PAGE, _random_name()), 500)}"
        )
        print(
            "  start + end an operation       "
            f"{_timed(lambda: _operation_cycle(repository), CYCLES)}"
        )
        started = time.perf_counter()
        assert len(repository.list_deployment_names()) == COUNT
        print(f"  every name at once             {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        repository.close()


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="dm-bench-repository-")
    try:
        _measure("sqlite", f"sqlite:///{workdir}/dm.sqlite", workdir)
        try:
            admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
        except psycopg.Error as error:
            print(f"postgresql: skipped, {POSTGRES_URL} unreachable: {error}")
            return
        schema = f"dm_bench_{uuid.uuid4().hex[:12]}"
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
            _measure("postgresql", f"{base}?options=-csearch_path%3D{schema}", workdir)
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
            admin.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
