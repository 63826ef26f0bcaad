"""The SQL repository (SQLAlchemy Core): SQLite by default, PostgreSQL for several replicas.

One operation per deployment: a deployment is busy while its `operation` column names
an operation that has not ended. `start_operation` checks and takes that in one
conditional UPDATE (or INSERT, for a new deployment) in the same transaction that stores
the operation, so two processes or replicas can never both start one. Leases on
operations are described in lease.py; the SQL for them is here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
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
    ENDED,
    Deployment,
    Health,
    Manifest,
    ManifestResource,
    Operation,
    Options,
    Preview,
    State,
    Step,
    Template,
    TypeInstance,
)
from manager.repository.base import Repository
from manager.repository.lease import owner_is_dead, process_owner
from manager.repository.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    deployments,
    manifests,
    metadata,
    operation_events,
    operations,
    previews,
    schema_version,
    type_instances,
)

log = logging.getLogger(__name__)

# Any stable 64-bit number: serializes schema creation among replicas on PostgreSQL.
_SCHEMA_LOCK_KEY = 0x646D736368656D61
_ENDED = sorted(ENDED)


class SqlRepository(Repository):
    """`Repository` over one SQLAlchemy engine. Create one per process (after a fork)."""

    def __init__(self, url: str):
        self.owner = process_owner()
        self._engine = _create_engine(url)
        try:
            self._create_schema()
        except Exception:
            self._engine.dispose()
            raise

    # Deployments

    def get_deployment(self, name: str) -> Deployment:
        with self._transaction() as conn:
            found = _find_deployment(conn, name)
        if found is None:
            raise _deployment_not_found(name)
        return found

    def list_deployment_names(self, limit: int | None = None, after: str = "") -> list[str]:
        query = select(deployments.c.name).where(deployments.c.name > after)
        with self._transaction() as conn:
            return list(conn.execute(query.order_by(deployments.c.name).limit(limit)).scalars())

    def list_deployments(self, limit: int | None = None, after: str = "") -> list[Deployment]:
        query = select(deployments).where(deployments.c.name > after)
        with self._transaction() as conn:
            rows = conn.execute(query.order_by(deployments.c.name).limit(limit)).all()
        return [_deployment_from_row(row) for row in rows]

    def save_deployment(
        self, deployment: Deployment, expected_fingerprint: str | None = None
    ) -> Deployment:
        stored = _with_fingerprint(deployment)
        condition = deployments.c.name == deployment.name
        if expected_fingerprint is not None:
            condition = and_(condition, deployments.c.fingerprint == expected_fingerprint)
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(deployments).where(condition).values(**_deployment_values(stored))
            )
            if result.rowcount != 1:
                current = _find_deployment(conn, deployment.name)
                if current is None:
                    raise _deployment_not_found(deployment.name)
                raise _stale(deployment.name, expected_fingerprint, current.fingerprint)
        return stored

    def record_sync(self, name: str, sync: str) -> None:
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(deployments).where(deployments.c.name == name).values(sync=sync)
            )
            if result.rowcount != 1:
                raise _deployment_not_found(name)

    def delete_deployment(self, name: str) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(delete(previews).where(previews.c.deployment == name))
            conn.execute(delete(type_instances).where(type_instances.c.deployment == name))
            conn.execute(delete(manifests).where(manifests.c.deployment == name))
            result = conn.execute(delete(deployments).where(deployments.c.name == name))
            if result.rowcount != 1:
                raise _deployment_not_found(name)

    # Operations

    def start_operation(
        self,
        operation: Operation,
        deployment: Deployment,
        manifest: Manifest | None = None,
        create: bool = False,
        expected_fingerprint: str | None = None,
    ) -> Deployment:
        operation.owner = self.owner
        operation.heartbeat = time.time()
        deployment.operation = operation.id
        if manifest is not None:
            manifest.operation = operation.id
        stored = _with_fingerprint(deployment)
        values = _deployment_values(stored)
        with self._transaction(write=True) as conn:
            if create:
                if _find_deployment(conn, deployment.name) is not None:
                    raise _exists(deployment.name)
                try:
                    conn.execute(insert(deployments).values(name=stored.name, **values))
                except IntegrityError:
                    raise _exists(deployment.name) from None
            else:
                self._lock_idle(conn, deployment.name, expected_fingerprint, values)
            if manifest is not None:
                _insert_manifest(conn, manifest)
            conn.execute(insert(operations).values(**_operation_values(operation)))
        return stored

    def _lock_idle(
        self,
        conn: Connection,
        name: str,
        expected_fingerprint: str | None,
        values: dict[str, Any],
    ) -> None:
        """Update deployment `name` with `values` if no operation of it is running."""
        running = (
            select(operations.c.id)
            .where(operations.c.id == deployments.c.operation)
            .where(operations.c.status.not_in(_ENDED))
        )
        condition = and_(deployments.c.name == name, ~running.exists())
        if expected_fingerprint is not None:
            condition = and_(condition, deployments.c.fingerprint == expected_fingerprint)
        result = conn.execute(update(deployments).where(condition).values(**values))
        if result.rowcount == 1:
            return
        current = _find_deployment(conn, name)
        if current is None:
            raise _deployment_not_found(name)
        busy = conn.execute(
            select(operations.c.id, operations.c.type).where(
                operations.c.id == current.operation, operations.c.status.not_in(_ENDED)
            )
        ).first()
        if busy is not None:
            raise Conflict(
                f'deployment "{name}" is busy: operation {busy.id} ({busy.type}) is running; '
                f"wait for it (GET /operations/{busy.id}) or cancel it"
            )
        raise _stale(name, expected_fingerprint, current.fingerprint)

    def get_operation(self, operation_id: str) -> Operation:
        with self._transaction() as conn:
            row = conn.execute(select(operations).where(operations.c.id == operation_id)).first()
        if row is None:
            raise NotFound(f'operation "{operation_id}" not found')
        return _operation_from_row(row)

    def list_operations(self, deployment: str) -> list[Operation]:
        query = (
            select(operations)
            .where(operations.c.deployment == deployment)
            .order_by(operations.c.created_at.desc(), operations.c.id)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).all()
            if not rows and _find_deployment(conn, deployment) is None:
                raise _deployment_not_found(deployment)
        return [_operation_from_row(row) for row in rows]

    def save_operation(self, operation: Operation, events: list[dict[str, Any]] = ()) -> None:
        values = _operation_values(operation)
        for key in ("id", "created_at", "owner", "heartbeat", "cancel_requested", "deadline"):
            values.pop(key)
        with self._transaction(write=True) as conn:
            conn.execute(update(operations).where(operations.c.id == operation.id).values(values))
            if events:
                last = conn.execute(
                    select(func.max(operation_events.c.seq)).where(
                        operation_events.c.operation == operation.id
                    )
                ).scalar()
                start = (last or 0) + 1
                conn.execute(
                    insert(operation_events),
                    [
                        {"operation": operation.id, "seq": start + i, "data": json.dumps(item)}
                        for i, item in enumerate(events)
                    ],
                )

    def events_since(self, operation_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        query = (
            select(operation_events.c.seq, operation_events.c.data)
            .where(operation_events.c.operation == operation_id, operation_events.c.seq > after)
            .order_by(operation_events.c.seq)
        )
        with self._transaction() as conn:
            return [(row.seq, json.loads(row.data)) for row in conn.execute(query)]

    def request_cancel(self, operation_id: str) -> Operation:
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(operations)
                .where(operations.c.id == operation_id, operations.c.status.not_in(_ENDED))
                .values(cancel_requested=True)
            )
            row = conn.execute(select(operations).where(operations.c.id == operation_id)).first()
        if row is None:
            raise NotFound(f'operation "{operation_id}" not found')
        found = _operation_from_row(row)
        if result.rowcount != 1:
            raise Conflict(f'operation "{operation_id}" has already ended ({found.status})')
        return found

    def renew_leases(self) -> None:
        with self._transaction(write=True) as conn:
            conn.execute(
                update(operations)
                .where(operations.c.owner == self.owner, operations.c.status.not_in(_ENDED))
                .values(heartbeat=time.time())
            )

    def claim_orphaned_operations(self, lease_seconds: float) -> list[str]:
        cutoff = time.time() - lease_seconds
        with self._transaction() as conn:
            rows = conn.execute(
                select(operations.c.id, operations.c.owner, operations.c.heartbeat).where(
                    operations.c.status.not_in(_ENDED)
                )
            ).all()
        claimed = []
        for row in rows:
            if row.owner == self.owner:
                continue
            expired = row.heartbeat is None or row.heartbeat < cutoff
            if not expired and not owner_is_dead(row.owner):
                continue
            with self._transaction(write=True) as conn:
                # The owner condition makes one claimant win when several look at once.
                owner_was = (
                    operations.c.owner.is_(None)
                    if row.owner is None
                    else operations.c.owner == row.owner
                )
                result = conn.execute(
                    update(operations)
                    .where(operations.c.id == row.id, owner_was)
                    .values(owner=self.owner, heartbeat=time.time())
                )
            if result.rowcount == 1:
                claimed.append(row.id)
        return claimed

    # Manifests

    def save_manifest(self, manifest: Manifest) -> None:
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(manifests)
                .where(
                    manifests.c.deployment == manifest.deployment,
                    manifests.c.name == manifest.name,
                )
                .values(**_manifest_values(manifest))
            )
            if result.rowcount != 1:
                raise _manifest_not_found(conn, manifest.deployment, manifest.name)

    def get_manifest(self, deployment: str, name: str) -> Manifest:
        which = manifests.c.name == name
        if name.isdigit():
            which = or_(which, manifests.c.revision == int(name))
        with self._transaction() as conn:
            row = conn.execute(
                select(manifests).where(manifests.c.deployment == deployment, which)
            ).first()
            if row is None:
                raise _manifest_not_found(conn, deployment, name)
        return _manifest_from_row(row)

    def list_manifests(self, deployment: str) -> list[dict[str, Any]]:
        # One query: the outer joins tell "no such deployment" from "no manifests".
        query = (
            select(
                deployments.c.name,
                manifests.c.name.label("manifest"),
                manifests.c.revision,
                manifests.c.created_at,
                manifests.c.operation,
                operations.c.status,
            )
            .select_from(
                deployments.outerjoin(
                    manifests, manifests.c.deployment == deployments.c.name
                ).outerjoin(operations, operations.c.id == manifests.c.operation)
            )
            .where(deployments.c.name == deployment)
            .order_by(manifests.c.id)
        )
        with self._transaction() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise _deployment_not_found(deployment)
        return [
            {
                "name": row.manifest,
                "revision": row.revision,
                "createdAt": row.created_at,
                "operation": row.operation,
                "status": row.status,
            }
            for row in rows
            if row.manifest is not None
        ]

    def list_manifest_names(self, deployment: str) -> list[str]:
        return [item["name"] for item in self.list_manifests(deployment)]

    # Previews

    def save_preview(self, preview: Preview) -> None:
        values = {
            "created_at": preview.created_at,
            "fingerprint": preview.fingerprint,
            "manifest": json.dumps(
                {"name": preview.manifest.name, **_manifest_values(preview.manifest)}
            ),
            "plan": json.dumps(preview.plan),
            "running_operation": preview.running_operation,
        }
        with self._transaction(write=True) as conn:
            conn.execute(delete(previews).where(previews.c.deployment == preview.deployment))
            conn.execute(insert(previews).values(deployment=preview.deployment, **values))

    def get_preview(self, deployment: str) -> Preview:
        with self._transaction() as conn:
            row = conn.execute(select(previews).where(previews.c.deployment == deployment)).first()
        if row is None:
            raise _no_preview(deployment)
        stored = json.loads(row.manifest)
        return Preview(
            deployment=row.deployment,
            manifest=_manifest_from_row(_Row(deployment=row.deployment, **stored)),
            fingerprint=row.fingerprint,
            plan=json.loads(row.plan),
            created_at=row.created_at,
            running_operation=row.running_operation,
        )

    def delete_preview(self, deployment: str) -> None:
        with self._transaction(write=True) as conn:
            result = conn.execute(delete(previews).where(previews.c.deployment == deployment))
        if result.rowcount != 1:
            raise _no_preview(deployment)

    # Type instances

    def set_type_instances(self, deployment: str, instances: list[TypeInstance]) -> None:
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
                for statement in MIGRATIONS[step]:
                    conn.execute(text(statement))
                conn.execute(insert(schema_version).values(version=step))


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _configure_sqlite)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


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


def _new_fingerprint() -> str:
    return uuid.uuid4().hex


def _with_fingerprint(deployment: Deployment) -> Deployment:
    return dataclasses.replace(deployment, fingerprint=_new_fingerprint())


def _deployment_values(deployment: Deployment) -> dict[str, Any]:
    return {
        "namespace": deployment.namespace,
        "created_at": deployment.created_at,
        "deployed_at": deployment.deployed_at,
        "modified_at": deployment.modified_at,
        "status": deployment.state.status,
        "errors": json.dumps(deployment.state.errors),
        "latest_manifest": deployment.latest_manifest,
        "fingerprint": deployment.fingerprint,
        "revision": deployment.revision,
        "operation": deployment.operation,
        "health": json.dumps(deployment.health.to_dict()) if deployment.health else None,
        "sync": deployment.sync,
    }


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
        revision=row.revision,
        operation=row.operation,
        health=Health.from_dict(json.loads(row.health)) if row.health else None,
        sync=row.sync,
    )


def _find_deployment(conn: Connection, name: str) -> Deployment | None:
    row = conn.execute(select(deployments).where(deployments.c.name == name)).first()
    return None if row is None else _deployment_from_row(row)


def _insert_manifest(conn: Connection, manifest: Manifest) -> None:
    try:
        conn.execute(
            insert(manifests).values(
                deployment=manifest.deployment,
                name=manifest.name,
                **_manifest_values(manifest),
            )
        )
    except IntegrityError:
        raise Conflict(
            f'manifest "{manifest.name}" of deployment "{manifest.deployment}" already exists'
        ) from None


def _manifest_values(manifest: Manifest) -> dict[str, Any]:
    return {
        "created_at": manifest.created_at,
        "revision": manifest.revision,
        "input_config": json.dumps(manifest.input_config.to_dict()),
        "expanded_config": json.dumps(manifest.expanded_record()),
        "layout": json.dumps(manifest.layout),
        "warnings": json.dumps(manifest.warnings),
        "operation": manifest.operation,
    }


def _manifest_from_row(row) -> Manifest:
    expanded = json.loads(row.expanded_config)
    return Manifest(
        deployment=row.deployment,
        name=row.name,
        created_at=row.created_at,
        input_config=Template.from_dict(json.loads(row.input_config)),
        resources=[ManifestResource.from_dict(item) for item in expanded.get("resources", [])],
        layout=json.loads(row.layout),
        revision=row.revision,
        warnings=json.loads(row.warnings),
        namespace=expanded.get("namespace") or "",
        levels=expanded.get("levels") or [],
        settled=bool(expanded.get("settled")),
        operation=row.operation,
    )


def _operation_values(operation: Operation) -> dict[str, Any]:
    return {
        "id": operation.id,
        "deployment": operation.deployment,
        "type": operation.type,
        "status": operation.status,
        "manifest": operation.manifest,
        "created_at": operation.created_at,
        "started_at": operation.started_at,
        "ended_at": operation.ended_at,
        "errors": json.dumps(operation.errors),
        "steps": json.dumps([step.to_dict() for step in operation.steps]),
        "options": json.dumps(operation.options.to_dict()),
        "params": json.dumps(operation.params),
        "owner": operation.owner,
        "heartbeat": operation.heartbeat,
        "deadline": operation.deadline,
        "cancel_requested": operation.cancel_requested,
    }


def _operation_from_row(row) -> Operation:
    return Operation(
        id=row.id,
        deployment=row.deployment,
        type=row.type,
        status=row.status,
        manifest=row.manifest,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        errors=json.loads(row.errors),
        steps=[Step.from_dict(item) for item in json.loads(row.steps)],
        options=Options.from_dict(json.loads(row.options)),
        params=json.loads(row.params),
        owner=row.owner,
        heartbeat=row.heartbeat,
        deadline=row.deadline,
        cancel_requested=bool(row.cancel_requested),
    )


class _Row:
    """Attribute access to a stored document, so it maps like a table row."""

    def __init__(self, **values: Any):
        self.__dict__.update(values)


def _no_preview(deployment: str) -> NotFound:
    return NotFound(
        f'deployment "{deployment}" has no preview: make one with '
        f"PUT /deployments/{deployment}?preview=true (or POST /deployments?preview=true)"
    )


def _deployment_not_found(name: str) -> NotFound:
    return NotFound(f'deployment "{name}" not found')


def _exists(name: str) -> Conflict:
    return Conflict(
        f'deployment "{name}" already exists: update it with PUT /deployments/{name} '
        "or delete it first"
    )


def _manifest_not_found(conn: Connection, deployment: str, name: str) -> NotFound:
    if _find_deployment(conn, deployment) is None:
        return _deployment_not_found(deployment)
    return NotFound(f'manifest "{name}" of deployment "{deployment}" not found')


def _stale(name: str, expected: str | None, current: str) -> Conflict:
    if expected is None:
        return Conflict(f'deployment "{name}" changed during the request: retry')
    return Conflict(
        f'deployment "{name}" has changed: fingerprint "{expected}" is stale (current "{current}")'
    )


def _first_line(error: BaseException | None) -> str:
    lines = str(error or "").strip().splitlines()
    return lines[0] if lines else "no connection"
