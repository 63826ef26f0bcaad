"""The repository's tables (SQLAlchemy Core) and the schema version they implement.

JSON documents (manifests, error lists) are stored as text: no size limit on either
database short of the request limit, and the same column type on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Bump when the tables change, and add the step from the previous version to
# `sql._MIGRATIONS`.
SCHEMA_VERSION = 1

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
    # Who runs the in-progress operation, and when it last said it was alive (epoch
    # seconds); both NULL when the deployment is idle. See `SqlRepository`.
    Column("operation_owner", String(255)),
    Column("operation_heartbeat", Float),
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
