"""The repository's tables (SQLAlchemy Core) and the schema version they implement.

JSON documents (manifests, error lists, operation steps) are stored as text: no size
limit on either database short of the request limit, and the same column type on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    text,
)

from dmcommon.errors import ServiceUnavailable

# Bump when the tables change, and add the step from the previous version to
# `MIGRATIONS`.
SCHEMA_VERSION = 2

# Any stable 64-bit number: serializes schema creation among replicas on PostgreSQL.
_SCHEMA_LOCK_KEY = 0x646D736368656D61

metadata = MetaData()

schema_version = Table(
    "dm_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)

deployments = Table(
    "dm_deployments",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("namespace", String(255), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("deployed_at", String(40)),
    Column("modified_at", String(40)),
    Column("status", String(20), nullable=False),
    Column("errors", Text, nullable=False),
    Column("latest_manifest", String(255)),
    Column("fingerprint", String(64), nullable=False),
    Column("revision", Integer, nullable=False, server_default="0"),
    # The running or last operation; the deployment is busy while that one has not ended.
    Column("operation", String(64)),
    Column("health", Text),
    Column("sync", String(20), nullable=False, server_default="Unknown"),
)

manifests = Table(
    "dm_manifests",
    metadata,
    # The surrogate key orders a deployment's manifests by insertion.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "deployment",
        String(255),
        ForeignKey("dm_deployments.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(255), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("input_config", Text, nullable=False),
    Column("expanded_config", Text, nullable=False),
    Column("layout", Text, nullable=False),
    Column("revision", Integer, nullable=False, server_default="0"),
    Column("warnings", Text, nullable=False, server_default="[]"),
    # The operation that rolled this manifest out.
    Column("operation", String(64)),
    UniqueConstraint("deployment", "name", name="dm_manifests_deployment_name"),
)

type_instances = Table(
    "dm_type_instances",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "deployment",
        String(255),
        ForeignKey("dm_deployments.name", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("type", Text, nullable=False),
    Column("name", String(255), nullable=False),
    Column("manifest", String(255), nullable=False),
    Column("path", Text, nullable=False),
    Index("dm_type_instances_type", "type"),
    Index("dm_type_instances_deployment", "deployment"),
)

# Operations outlive their deployment (the record of a delete stays readable), so they
# have no foreign key to it.
operations = Table(
    "dm_operations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("deployment", String(255), nullable=False),
    Column("type", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("manifest", String(255)),
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40)),
    Column("ended_at", String(40)),
    Column("errors", Text, nullable=False),
    Column("steps", Text, nullable=False),
    Column("options", Text, nullable=False),
    Column("params", Text, nullable=False),
    # The lease: who runs the operation and when it last said it was alive (epoch
    # seconds). See manager/repository/lease.py.
    Column("owner", String(255)),
    Column("heartbeat", Float),
    Column("deadline", Float, nullable=False),
    Column("cancel_requested", Boolean, nullable=False, server_default="0"),
    Index("dm_operations_deployment", "deployment", "created_at"),
    Index("dm_operations_status", "status"),
)

operation_events = Table(
    "dm_operation_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("operation", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("data", Text, nullable=False),
    UniqueConstraint("operation", "seq", name="dm_operation_events_operation_seq"),
)

# A deployment's stored preview: the manifest it would roll out (as JSON, the same
# documents a manifest row holds) and its plan. A new deployment may have one, so there
# is no foreign key.
previews = Table(
    "dm_previews",
    metadata,
    Column("deployment", String(255), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("manifest", Text, nullable=False),
    Column("plan", Text, nullable=False),
    Column("running_operation", String(64)),
)

# Steps that bring a database from version N-1 to N, keyed by N. New tables are made
# by `metadata.create_all` before the steps run.
MIGRATIONS: dict[int, list[str]] = {
    2: [
        "ALTER TABLE dm_deployments ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE dm_deployments ADD COLUMN operation VARCHAR(64)",
        "ALTER TABLE dm_deployments ADD COLUMN health TEXT",
        "ALTER TABLE dm_deployments ADD COLUMN sync VARCHAR(20) NOT NULL DEFAULT 'Unknown'",
        "ALTER TABLE dm_deployments DROP COLUMN operation_owner",
        "ALTER TABLE dm_deployments DROP COLUMN operation_heartbeat",
        "ALTER TABLE dm_manifests ADD COLUMN revision INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE dm_manifests ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'",
        "ALTER TABLE dm_manifests ADD COLUMN operation VARCHAR(64)",
        "UPDATE dm_manifests SET revision = (SELECT COUNT(*) FROM dm_manifests AS earlier "
        "WHERE earlier.deployment = dm_manifests.deployment AND earlier.id <= dm_manifests.id)",
        "UPDATE dm_deployments SET revision = (SELECT COUNT(*) FROM dm_manifests "
        "WHERE dm_manifests.deployment = dm_deployments.name)",
        # A v1 deployment left in progress has no operation to resume.
        "UPDATE dm_deployments SET status = 'Failed', "
        "errors = '[\"interrupted: the manager was upgraded during the operation\"]' "
        "WHERE status IN ('Deploying', 'Updating', 'Deleting')",
    ],
}


def create_or_migrate(conn: Connection) -> None:
    """Create the tables of an empty database, or bring an older one to `SCHEMA_VERSION`.

    `ServiceUnavailable` when the database is newer than this code.
    """
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
