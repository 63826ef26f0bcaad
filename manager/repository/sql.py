"""The SQL repository (SQLAlchemy Core): SQLite by default, PostgreSQL for several replicas.

Operation lock and leases. A deployment whose status is in progress (Deploying,
Updating, Deleting) is locked: `begin_operation` takes the lock with one conditional
UPDATE, so two processes or replicas can never both start an operation on it. The lock
records its *owner* (`host/pid/process-start-time`) and a *heartbeat* (epoch seconds).
While this repository owns at least one operation, a background thread refreshes the
heartbeat of every operation it owns every `lease_seconds / 4`. An operation counts as
interrupted when

- its heartbeat is older than `lease_seconds` (the owner died, wherever it ran), or
- its owner ran on this host and that process is gone (a restart on the same host is
  detected at once, without waiting for the lease to run out).

`fail_interrupted_operations` (called at start-up) marks such deployments `Failed`, and
`begin_operation` may take over a lock whose lease ran out, so a deployment is never
locked for longer than the lease after its owner died. Clocks of replicas sharing a
database are assumed to agree to well within the lease.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from dmcommon.errors import Conflict, NotFound, ServiceUnavailable
from manager.models import (
    DELETING,
    DEPLOYING,
    FAILED,
    IN_PROGRESS,
    UPDATING,
    Deployment,
    Manifest,
    State,
    Template,
    TypeInstance,
    utc_now,
)
from manager.repository.base import Repository
from manager.repository.schema import (
    SCHEMA_VERSION,
    deployments,
    manifests,
    metadata,
    schema_version,
    type_instances,
)

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60.0
# Any stable 64-bit number: serializes schema creation among replicas on PostgreSQL.
_SCHEMA_LOCK_KEY = 0x646D736368656D61
_OPERATION_NAMES = {DEPLOYING: "deploy", UPDATING: "update", DELETING: "delete"}
_IN_PROGRESS = sorted(IN_PROGRESS)
# Steps that bring a database from version N-1 to N, keyed by N.
_MIGRATIONS: dict[int, list[str]] = {}


class SqlRepository(Repository):
    """`Repository` over one SQLAlchemy engine. Create one per process (after a fork)."""

    def __init__(self, url: str, lease_seconds: float = DEFAULT_LEASE_SECONDS):
        self.lease_seconds = lease_seconds
        self.owner = _process_owner()
        self._engine = _create_engine(url)
        self._stop = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._heartbeat_lock = threading.Lock()
        try:
            self._create_schema()
        except Exception:
            self._engine.dispose()
            raise

    # Deployments

    def create_deployment(self, deployment: Deployment) -> Deployment:
        stored = _with_fingerprint(deployment)
        values = {"name": stored.name, **self._deployment_values(stored)}
        try:
            with self._transaction(write=True) as conn:
                conn.execute(insert(deployments).values(**values))
        except IntegrityError:
            raise Conflict(f'deployment "{deployment.name}" already exists') from None
        self._watch(stored)
        return stored

    def get_deployment(self, name: str) -> Deployment:
        with self._transaction() as conn:
            row = conn.execute(select(deployments).where(deployments.c.name == name)).first()
        if row is None:
            raise _deployment_not_found(name)
        return _deployment_from_row(row)

    def list_deployment_names(self) -> list[str]:
        with self._transaction() as conn:
            query = select(deployments.c.name).order_by(deployments.c.name)
            return list(conn.execute(query).scalars())

    def list_deployments(self) -> list[Deployment]:
        with self._transaction() as conn:
            rows = conn.execute(select(deployments).order_by(deployments.c.name)).all()
        return [_deployment_from_row(row) for row in rows]

    def save_deployment(
        self, deployment: Deployment, expected_fingerprint: str | None = None
    ) -> Deployment:
        """Replace the stored deployment and give it a new fingerprint.

        With `expected_fingerprint`, raise `Conflict` if the stored one differs;
        `NotFound` when absent. Saving an in-progress status makes this process the
        operation's owner; saving any other status releases the lock.
        """
        stored = _with_fingerprint(deployment)
        condition = deployments.c.name == deployment.name
        if expected_fingerprint is not None:
            condition = and_(condition, deployments.c.fingerprint == expected_fingerprint)
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(deployments).where(condition).values(**self._deployment_values(stored))
            )
            if result.rowcount != 1:
                current = _find_deployment(conn, deployment.name)
                if current is None:
                    raise _deployment_not_found(deployment.name)
                raise _stale(deployment.name, expected_fingerprint, current.fingerprint)
        self._watch(stored)
        return stored

    def delete_deployment(self, name: str) -> None:
        """Remove the deployment, its manifests and its type instances; `NotFound` if absent."""
        with self._transaction(write=True) as conn:
            conn.execute(delete(type_instances).where(type_instances.c.deployment == name))
            conn.execute(delete(manifests).where(manifests.c.deployment == name))
            result = conn.execute(delete(deployments).where(deployments.c.name == name))
            if result.rowcount != 1:
                raise _deployment_not_found(name)

    def begin_operation(
        self, name: str, status: str, expected_fingerprint: str | None = None
    ) -> Deployment:
        """Atomically move an idle deployment to in-progress `status` and return it.

        The errors of the previous operation are cleared. `Conflict` when another live
        operation holds it or the fingerprint is stale; `NotFound` when absent. A lock
        whose lease ran out (its owner died) is taken over.
        """
        if status not in IN_PROGRESS:
            raise ValueError(f"not an operation status: {status}")
        fingerprint = _new_fingerprint()
        now = time.time()
        idle = or_(
            deployments.c.status.not_in(_IN_PROGRESS),
            deployments.c.operation_heartbeat.is_(None),
            deployments.c.operation_heartbeat < now - self.lease_seconds,
        )
        condition = and_(deployments.c.name == name, idle)
        if expected_fingerprint is not None:
            condition = and_(condition, deployments.c.fingerprint == expected_fingerprint)
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(deployments)
                .where(condition)
                .values(
                    status=status,
                    errors="[]",
                    fingerprint=fingerprint,
                    modified_at=utc_now(),
                    operation_owner=self.owner,
                    operation_heartbeat=now,
                )
            )
            current = _find_deployment(conn, name)
            if result.rowcount != 1:
                if current is None:
                    raise _deployment_not_found(name)
                if current.state.status in IN_PROGRESS:
                    raise Conflict(
                        f'deployment "{name}" is busy: another operation '
                        f"({current.state.status}) is in progress"
                    )
                raise _stale(name, expected_fingerprint, current.fingerprint)
        assert current is not None
        self._watch(current)
        return current

    def fail_interrupted_operations(self) -> list[str]:
        """Mark deployments whose operation's owner died `Failed`; return their names.

        An operation of a live process (another worker, another replica) is left alone:
        see the module docstring for how a dead owner is recognised.
        """
        cutoff = time.time() - self.lease_seconds
        with self._transaction() as conn:
            rows = conn.execute(
                select(
                    deployments.c.name,
                    deployments.c.status,
                    deployments.c.fingerprint,
                    deployments.c.operation_owner,
                    deployments.c.operation_heartbeat,
                ).where(deployments.c.status.in_(_IN_PROGRESS))
            ).all()
        failed = []
        for row in rows:
            expired = row.operation_heartbeat is None or row.operation_heartbeat < cutoff
            if not expired and not _owner_is_dead(row.operation_owner):
                continue
            message = (
                "interrupted: the manager stopped during "
                f"{_OPERATION_NAMES.get(row.status, row.status)}"
            )
            with self._transaction(write=True) as conn:
                # The fingerprint condition leaves the row alone if its owner moved on.
                result = conn.execute(
                    update(deployments)
                    .where(
                        deployments.c.name == row.name,
                        deployments.c.fingerprint == row.fingerprint,
                    )
                    .values(
                        status=FAILED,
                        errors=json.dumps([message]),
                        fingerprint=_new_fingerprint(),
                        modified_at=utc_now(),
                        operation_owner=None,
                        operation_heartbeat=None,
                    )
                )
            if result.rowcount == 1:
                log.warning('deployment "%s" %s', row.name, message)
                failed.append(row.name)
        return sorted(failed)

    # Manifests

    def add_manifest(self, manifest: Manifest) -> None:
        """Store a manifest of an existing deployment.

        `NotFound` when the deployment is absent; `Conflict` when the name is taken.
        """
        with self._transaction(write=True) as conn:
            if _find_deployment(conn, manifest.deployment) is None:
                raise _deployment_not_found(manifest.deployment)
            try:
                conn.execute(
                    insert(manifests).values(
                        deployment=manifest.deployment,
                        name=manifest.name,
                        created_at=manifest.created_at,
                        **_manifest_documents(manifest),
                    )
                )
            except IntegrityError:
                raise Conflict(
                    f'manifest "{manifest.name}" of deployment "{manifest.deployment}" '
                    "already exists"
                ) from None

    def save_manifest(self, manifest: Manifest) -> None:
        """Replace a stored manifest (e.g. to record resource states); `NotFound` if absent."""
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(manifests)
                .where(
                    manifests.c.deployment == manifest.deployment,
                    manifests.c.name == manifest.name,
                )
                .values(created_at=manifest.created_at, **_manifest_documents(manifest))
            )
            if result.rowcount != 1:
                raise _manifest_not_found(conn, manifest.deployment, manifest.name)

    def get_manifest(self, deployment: str, name: str) -> Manifest:
        with self._transaction() as conn:
            row = conn.execute(
                select(manifests).where(
                    manifests.c.deployment == deployment, manifests.c.name == name
                )
            ).first()
            if row is None:
                raise _manifest_not_found(conn, deployment, name)
        return Manifest(
            deployment=row.deployment,
            name=row.name,
            created_at=row.created_at,
            input_config=Template.from_dict(json.loads(row.input_config)),
            expanded_config=json.loads(row.expanded_config),
            layout=json.loads(row.layout),
        )

    def list_manifest_names(self, deployment: str) -> list[str]:
        # One query: the outer join tells "no such deployment" from "no manifests".
        query = (
            select(deployments.c.name, manifests.c.name.label("manifest"))
            .select_from(
                deployments.outerjoin(manifests, manifests.c.deployment == deployments.c.name)
            )
            .where(deployments.c.name == deployment)
            .order_by(manifests.c.id)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise _deployment_not_found(deployment)
        return [row.manifest for row in rows if row.manifest is not None]

    # Type instances

    def set_type_instances(self, deployment: str, instances: list[TypeInstance]) -> None:
        """Replace the type instances recorded for a deployment; `NotFound` if absent."""
        with self._transaction(write=True) as conn:
            if _find_deployment(conn, deployment) is None:
                raise _deployment_not_found(deployment)
            conn.execute(delete(type_instances).where(type_instances.c.deployment == deployment))
            if instances:
                conn.execute(
                    insert(type_instances),
                    [
                        {
                            "deployment": deployment,
                            "type": item.type,
                            "name": item.name,
                            "manifest": item.manifest,
                            "path": item.path,
                        }
                        for item in instances
                    ],
                )

    def list_types(self) -> list[str]:
        query = select(type_instances.c.type).distinct().order_by(type_instances.c.type)
        with self._transaction() as conn:
            return list(conn.execute(query).scalars())

    def list_type_instances(self, type_name: str) -> list[TypeInstance]:
        """Instances of one type, by deployment then layout order; `all` lists every type's."""
        query = select(type_instances).order_by(
            type_instances.c.type, type_instances.c.deployment, type_instances.c.id
        )
        if type_name != "all":
            query = query.where(type_instances.c.type == type_name)
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        return [
            TypeInstance(
                name=row.name,
                type=row.type,
                deployment=row.deployment,
                manifest=row.manifest,
                path=row.path,
            )
            for row in rows
        ]

    # Service

    def check(self) -> None:
        with self._transaction() as conn:
            conn.execute(select(func.count()).select_from(schema_version))

    def close(self) -> None:
        self._stop.set()
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=5)
        self._engine.dispose()

    # Internals

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Connection]:
        """A transaction; on SQLite, a writing one takes the write lock up front.

        Taking it at BEGIN (rather than at the first write) lets SQLite's busy timeout
        queue writers instead of failing a read-then-write transaction with "locked".
        """
        try:
            with self._engine.connect() as conn:
                if write:
                    conn.execution_options(dm_write=True)
                with conn.begin():
                    yield conn
        except IntegrityError:
            raise
        except DBAPIError as error:
            raise ServiceUnavailable(f"database unavailable: {_first_line(error.orig)}") from None

    def _deployment_values(self, deployment: Deployment) -> dict[str, Any]:
        busy = deployment.state.status in IN_PROGRESS
        return {
            "namespace": deployment.namespace,
            "created_at": deployment.created_at,
            "deployed_at": deployment.deployed_at,
            "modified_at": deployment.modified_at,
            "status": deployment.state.status,
            "errors": json.dumps(deployment.state.errors),
            "latest_manifest": deployment.latest_manifest,
            "fingerprint": deployment.fingerprint,
            "operation_owner": self.owner if busy else None,
            "operation_heartbeat": time.time() if busy else None,
        }

    def _watch(self, deployment: Deployment) -> None:
        """Start heartbeating once this process owns an operation."""
        if deployment.state.status not in IN_PROGRESS:
            return
        with self._heartbeat_lock:
            if self._heartbeat_thread is None and not self._stop.is_set():
                self._heartbeat_thread = threading.Thread(
                    target=self._heartbeat_loop, name="dm-operation-heartbeat", daemon=True
                )
                self._heartbeat_thread.start()

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 4):
            try:
                with self._transaction(write=True) as conn:
                    conn.execute(
                        update(deployments)
                        .where(
                            deployments.c.operation_owner == self.owner,
                            deployments.c.status.in_(_IN_PROGRESS),
                        )
                        .values(operation_heartbeat=time.time())
                    )
            except Exception:  # noqa: BLE001 - keep beating; the next beat may succeed
                log.exception("could not refresh operation heartbeats")

    def _create_schema(self) -> None:
        with self._transaction(write=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn)
            version = conn.execute(select(func.max(schema_version.c.version))).scalar()
            if version is None:
                conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
                return
            if version > SCHEMA_VERSION:
                raise ServiceUnavailable(
                    f"the database schema is version {version}, newer than this manager "
                    f"understands ({SCHEMA_VERSION}): upgrade the manager"
                )
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step]:
                    conn.execute(text(statement))
                conn.execute(insert(schema_version).values(version=step))


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True)


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


def _process_owner() -> str:
    """`host/pid/start-time`: names this process, and tells it apart from a later one
    that reuses its pid (as the first process of a restarted container does)."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_process_start_time(pid) or uuid.uuid4().hex}"


def _process_start_time(pid: int) -> str | None:
    """The kernel's start time of a live process `pid` (Linux), or None when gone or unknown.

    A zombie counts as gone: a killed worker stays one until its parent reaps it, and
    it will never finish its operation.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            # Fields counted after the parenthesised command name, which may hold spaces:
            # the state is field 3, the start time field 22.
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _owner_is_dead(owner: str | None) -> bool:
    """True when `owner` ran on this host and that process no longer exists."""
    if not owner:
        return True
    host, _, rest = owner.partition("/")
    pid_text, _, started = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    current_start = _process_start_time(pid)
    if current_start is not None:
        return current_start != started
    if os.path.isdir("/proc"):
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _new_fingerprint() -> str:
    return uuid.uuid4().hex


def _with_fingerprint(deployment: Deployment) -> Deployment:
    return dataclasses.replace(deployment, fingerprint=_new_fingerprint())


def _deployment_from_row(row) -> Deployment:
    return Deployment(
        name=row.name,
        namespace=row.namespace,
        created_at=row.created_at,
        deployed_at=row.deployed_at,
        modified_at=row.modified_at,
        state=State(status=row.status, errors=json.loads(row.errors)),
        latest_manifest=row.latest_manifest,
        fingerprint=row.fingerprint,
    )


def _find_deployment(conn: Connection, name: str) -> Deployment | None:
    row = conn.execute(select(deployments).where(deployments.c.name == name)).first()
    return None if row is None else _deployment_from_row(row)


def _manifest_documents(manifest: Manifest) -> dict[str, str]:
    return {
        "input_config": json.dumps(manifest.input_config.to_dict()),
        "expanded_config": json.dumps(manifest.expanded_config),
        "layout": json.dumps(manifest.layout),
    }


def _deployment_not_found(name: str) -> NotFound:
    return NotFound(f'deployment "{name}" not found')


def _manifest_not_found(conn: Connection, deployment: str, name: str) -> NotFound:
    if _find_deployment(conn, deployment) is None:
        return _deployment_not_found(deployment)
    return NotFound(f'manifest "{name}" of deployment "{deployment}" not found')


def _stale(name: str, expected: str | None, current: str) -> Conflict:
    if expected is None:
        return Conflict(f'deployment "{name}" changed during the request: retry')
    return Conflict(
        f'deployment "{name}" has changed: fingerprint "{expected}" is stale '
        f'(current "{current}")'
    )


def _first_line(error: BaseException | None) -> str:
    lines = str(error or "").strip().splitlines()
    return lines[0] if lines else "no connection"
