"""The SQL repository (SQLAlchemy Core): SQLite by default, PostgreSQL for several replicas.

One operation per deployment: a deployment is busy while its `operation` column names
an operation that has not ended. `start_operation` locks the deployment row (or inserts
it, for a new deployment), checks and takes it in the same transaction that stores the
operation, so two processes or replicas can never both start one. Leases on
operations are described in lease.py; the SQL for them is here.

The module is longer than most because it holds one query method for each method of
the interface; rows are mapped to models in rows.py, engines are set up in engine.py.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
import uuid
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from dmcommon.errors import Conflict, NotFound
from manager.models import ENDED, Deployment, Health, Manifest, Operation, TypeInstance
from manager.repository.base import Repository
from manager.repository.engine import open_engine, transaction
from manager.repository.lease import owner_is_dead, process_owner
from manager.repository.previews import SqlPreviews
from manager.repository.rows import (
    deployment_from_row,
    deployment_values,
    event_values,
    expanded_config_value,
    manifest_from_row,
    manifest_summary,
    manifest_values,
    operation_from_row,
    operation_values,
    type_instance_from_row,
    type_instance_values,
)
from manager.repository.schema import (
    create_or_migrate,
    deployments,
    manifests,
    operation_events,
    operations,
    previews,
    schema_version,
    type_instances,
)

log = logging.getLogger(__name__)

_ENDED = sorted(ENDED)


class SqlRepository(SqlPreviews, Repository):
    """`Repository` over one SQLAlchemy engine. Create one per process (after a fork)."""

    def __init__(self, url: str):
        self.owner = process_owner()
        self._engine = open_engine(url)
        try:
            with self._transaction(write=True) as conn:
                create_or_migrate(conn)
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
        return [deployment_from_row(row) for row in rows]

    def save_deployment(
        self, deployment: Deployment, expected_fingerprint: str | None = None
    ) -> Deployment:
        stored = _with_fingerprint(deployment)
        condition = deployments.c.name == deployment.name
        if expected_fingerprint is not None:
            condition = and_(condition, deployments.c.fingerprint == expected_fingerprint)
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(deployments).where(condition).values(**deployment_values(stored))
            )
            if result.rowcount != 1:
                current = _find_deployment(conn, deployment.name)
                if current is None:
                    raise _deployment_not_found(deployment.name)
                raise _stale(deployment.name, expected_fingerprint, current.fingerprint)
        return stored

    def record_sync(self, name: str, sync: str, health: Health | None = None) -> None:
        values: dict[str, Any] = {"sync": sync}
        if health is not None:
            values["health"] = json.dumps(health.to_dict())
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(deployments).where(deployments.c.name == name).values(**values)
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
        values = deployment_values(stored)
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
            conn.execute(insert(operations).values(**operation_values(operation)))
        return stored

    def _lock_idle(
        self,
        conn: Connection,
        name: str,
        expected_fingerprint: str | None,
        values: dict[str, Any],
    ) -> None:
        """Update deployment `name` with `values` if no operation of it is running.

        The row is locked before its operation is looked up (FOR UPDATE; on SQLite the
        write transaction holds the whole file). One conditional UPDATE would not do on
        PostgreSQL: when it waits for a concurrent start, it re-checks the row that start
        wrote against its own older view of the operations table, and both start.
        """
        row = conn.execute(
            select(deployments).where(deployments.c.name == name).with_for_update()
        ).first()
        if row is None:
            raise _deployment_not_found(name)
        current = deployment_from_row(row)
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
        if expected_fingerprint is not None and current.fingerprint != expected_fingerprint:
            raise _stale(name, expected_fingerprint, current.fingerprint)
        conn.execute(update(deployments).where(deployments.c.name == name).values(**values))

    def get_operation(self, operation_id: str) -> Operation:
        with self._transaction() as conn:
            row = conn.execute(select(operations).where(operations.c.id == operation_id)).first()
        if row is None:
            raise _operation_not_found(operation_id)
        return operation_from_row(row)

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
        return [operation_from_row(row) for row in rows]

    def save_operation(self, operation: Operation, events: list[dict[str, Any]] = ()) -> None:
        values = operation_values(operation)
        for key in ("id", "created_at", "owner", "heartbeat", "cancel_requested", "deadline"):
            values.pop(key)
        with self._transaction(write=True) as conn:
            result = conn.execute(
                update(operations).where(operations.c.id == operation.id).values(values)
            )
            if result.rowcount != 1:
                raise _operation_not_found(operation.id)
            if events:
                last = conn.execute(
                    select(func.max(operation_events.c.seq)).where(
                        operation_events.c.operation == operation.id
                    )
                ).scalar()
                start = (last or 0) + 1
                conn.execute(
                    insert(operation_events),
                    [event_values(operation.id, start + i, item) for i, item in enumerate(events)],
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
            raise _operation_not_found(operation_id)
        found = operation_from_row(row)
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
                # Only the lease as it was read is taken: one claimant wins when several
                # look at once, and an owner that renewed or ended it meanwhile keeps it.
                result = conn.execute(
                    update(operations)
                    .where(
                        operations.c.id == row.id,
                        operations.c.owner.is_not_distinct_from(row.owner),
                        operations.c.heartbeat.is_not_distinct_from(row.heartbeat),
                        operations.c.status.not_in(_ENDED),
                    )
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
                .values(expanded_config=expanded_config_value(manifest))
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
        return manifest_from_row(row)

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
        return [manifest_summary(row) for row in rows if row.manifest is not None]

    def list_manifest_names(self, deployment: str) -> list[str]:
        return [item["name"] for item in self.list_manifests(deployment)]

    # Type instances

    def set_type_instances(self, deployment: str, instances: list[TypeInstance]) -> None:
        with self._transaction(write=True) as conn:
            if _find_deployment(conn, deployment) is None:
                raise _deployment_not_found(deployment)
            conn.execute(delete(type_instances).where(type_instances.c.deployment == deployment))
            if instances:
                conn.execute(
                    insert(type_instances),
                    [type_instance_values(deployment, item) for item in instances],
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
        return [type_instance_from_row(row) for row in rows]

    # Service

    def check(self) -> None:
        with self._transaction() as conn:
            conn.execute(select(func.count()).select_from(schema_version))

    def close(self) -> None:
        self._engine.dispose()

    # Internals

    def _transaction(self, write: bool = False) -> AbstractContextManager[Connection]:
        return transaction(self._engine, write)


def _new_fingerprint() -> str:
    return uuid.uuid4().hex


def _with_fingerprint(deployment: Deployment) -> Deployment:
    return dataclasses.replace(deployment, fingerprint=_new_fingerprint())


def _find_deployment(conn: Connection, name: str) -> Deployment | None:
    row = conn.execute(select(deployments).where(deployments.c.name == name)).first()
    return None if row is None else deployment_from_row(row)


def _insert_manifest(conn: Connection, manifest: Manifest) -> None:
    try:
        conn.execute(
            insert(manifests).values(
                deployment=manifest.deployment,
                name=manifest.name,
                **manifest_values(manifest),
            )
        )
    except IntegrityError:
        raise Conflict(
            f'manifest "{manifest.name}" of deployment "{manifest.deployment}" already exists'
        ) from None


def _deployment_not_found(name: str) -> NotFound:
    return NotFound(f'deployment "{name}" not found')


def _operation_not_found(operation_id: str) -> NotFound:
    return NotFound(f'operation "{operation_id}" not found')


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
