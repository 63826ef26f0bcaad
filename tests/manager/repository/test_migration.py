"""A database written by schema version 1 opens, migrated, with its data intact."""

from __future__ import annotations

import json

import pytest
import sqlalchemy
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from manager.models import CREATED, DEPLOYED, FAILED, UPDATE, UPDATING, State
from manager.repository.schema import SCHEMA_VERSION, schema_version
from tests.manager.repository.builders import end, manifest, operation


def _deployment_key() -> Column:
    return Column(
        "deployment",
        String(255),
        ForeignKey("dm_deployments.name", ondelete="CASCADE"),
        nullable=False,
    )


# The tables as schema version 1 defined them.
V1 = MetaData()
Table("dm_schema_version", V1, Column("version", Integer, primary_key=True, autoincrement=False))
V1_DEPLOYMENTS = Table(
    "dm_deployments",
    V1,
    Column("name", String(255), primary_key=True),
    Column("namespace", String(255), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("deployed_at", String(40)),
    Column("modified_at", String(40)),
    Column("status", String(20), nullable=False),
    Column("errors", Text, nullable=False),
    Column("latest_manifest", String(255)),
    Column("fingerprint", String(64), nullable=False),
    Column("operation_owner", String(255)),
    Column("operation_heartbeat", Float),
)
V1_MANIFESTS = Table(
    "dm_manifests",
    V1,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _deployment_key(),
    Column("name", String(255), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("input_config", Text, nullable=False),
    Column("expanded_config", Text, nullable=False),
    Column("layout", Text, nullable=False),
    UniqueConstraint("deployment", "name", name="dm_manifests_deployment_name"),
)
Table(
    "dm_type_instances",
    V1,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _deployment_key(),
    Column("type", Text, nullable=False),
    Column("name", String(255), nullable=False),
    Column("manifest", String(255), nullable=False),
    Column("path", Text, nullable=False),
)

CREATED_AT = "2026-11-01T10:00:00.000000Z"


def _v1_deployment(name: str, status: str, latest: str | None, owner: str | None = None):
    return {
        "name": name,
        "namespace": "apps",
        "created_at": CREATED_AT,
        "deployed_at": CREATED_AT,
        "modified_at": CREATED_AT,
        "status": status,
        "errors": "[]",
        "latest_manifest": latest,
        "fingerprint": f"{name}-fingerprint",
        "operation_owner": owner,
        "operation_heartbeat": 1.0 if owner else None,
    }


def _v1_manifest(deployment: str, name: str, data: str):
    resource = {
        "name": "cm",
        "type": "ConfigMap",
        "properties": {"data": {"a": data}},
        "state": {"status": CREATED, "errors": []},
    }
    return {
        "deployment": deployment,
        "name": name,
        "created_at": CREATED_AT,
        "input_config": json.dumps({"name": deployment, "content": f"a: {data}", "imports": []}),
        "expanded_config": json.dumps(
            {"resources": [resource], "namespace": "apps", "levels": [[0]], "settled": True}
        ),
        "layout": json.dumps({"resources": [{"name": "cm", "type": "ConfigMap"}]}),
    }


@pytest.fixture
def v1_database(raw):
    """A version-1 database: deployment "web" with two manifests, "stuck" mid-update."""
    V1.create_all(raw)
    with raw.begin() as conn:
        conn.execute(sqlalchemy.insert(schema_version).values(version=1))
        conn.execute(
            sqlalchemy.insert(V1_DEPLOYMENTS),
            [
                _v1_deployment("web", DEPLOYED, "manifest-2"),
                _v1_deployment("stuck", UPDATING, None, owner="gone/1/1"),
            ],
        )
        conn.execute(
            sqlalchemy.insert(V1_MANIFESTS),
            [_v1_manifest("web", "manifest-1", "1"), _v1_manifest("web", "manifest-2", "2")],
        )
    return raw


def test_a_version_1_database_is_brought_to_the_current_version(v1_database, open_repo):
    open_repo()

    with v1_database.connect() as conn:
        versions = conn.execute(
            sqlalchemy.select(schema_version.c.version).order_by(schema_version.c.version)
        ).scalars()
        assert list(versions) == list(range(1, SCHEMA_VERSION + 1))


def test_migrated_deployments_keep_their_data_and_count_their_manifests(v1_database, open_repo):
    repo = open_repo()

    web = repo.get_deployment("web")

    assert (web.namespace, web.created_at, web.state) == ("apps", CREATED_AT, State(DEPLOYED))
    assert (web.latest_manifest, web.fingerprint) == ("manifest-2", "web-fingerprint")
    assert (web.revision, web.operation, web.health, web.sync) == (2, None, None, "Unknown")


def test_migrated_manifests_are_numbered_in_the_order_they_were_added(v1_database, open_repo):
    repo = open_repo()

    assert repo.list_manifests("web") == [
        {
            "name": "manifest-1",
            "revision": 1,
            "createdAt": CREATED_AT,
            "operation": None,
            "status": None,
        },
        {
            "name": "manifest-2",
            "revision": 2,
            "createdAt": CREATED_AT,
            "operation": None,
            "status": None,
        },
    ]


def test_migrated_manifests_read_back_whole_by_revision(v1_database, open_repo):
    repo = open_repo()

    second = repo.get_manifest("web", "2")

    assert second.name == "manifest-2"
    assert second.input_config.content == "a: 2"
    assert second.resources[0].properties == {"data": {"a": "2"}}
    assert second.resources[0].status == CREATED
    assert (second.namespace, second.levels, second.settled) == ("apps", [[0]], True)
    assert second.warnings == []


def test_a_deployment_left_in_progress_by_version_1_is_failed(v1_database, open_repo):
    repo = open_repo()

    assert repo.get_deployment("stuck").state == State(
        FAILED, ["interrupted: the manager was upgraded during the operation"]
    )


def test_a_migrated_deployment_takes_a_new_operation_and_revision(v1_database, open_repo):
    repo = open_repo()
    third = manifest("web", 3)
    updating = operation("web", UPDATE, manifest_name=third.name)
    current = repo.get_deployment("web")

    repo.start_operation(updating, current, third, expected_fingerprint="web-fingerprint")
    end(repo, updating)

    assert [item["revision"] for item in repo.list_manifests("web")] == [1, 2, 3]
    assert [item.id for item in repo.list_operations("web")] == [updating.id]


def test_opening_a_migrated_database_again_changes_nothing(v1_database, open_repo):
    first = open_repo()
    before = (first.get_deployment("web"), first.list_manifests("web"))
    first.close()

    second = open_repo()

    assert (second.get_deployment("web"), second.list_manifests("web")) == before
