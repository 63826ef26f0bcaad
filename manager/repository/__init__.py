"""Storage of deployments, manifests, operations and type instances."""

from __future__ import annotations

import os

from manager.repository.base import Repository
from manager.repository.names import new_manifest_name
from manager.repository.sql import SqlRepository

__all__ = [
    "Repository",
    "SqlRepository",
    "new_manifest_name",
    "open_repository",
    "resolve_database_url",
]


def resolve_database_url(database_url: str | None, data_dir: str) -> str:
    """The SQLAlchemy URL to use: `database_url`, else a SQLite file in `data_dir`.

    `postgres://` and `postgresql://` mean PostgreSQL through psycopg 3. The data
    directory is created when the SQLite default is used.
    """
    if not database_url:
        os.makedirs(data_dir, exist_ok=True)
        return "sqlite:///" + os.path.abspath(os.path.join(data_dir, "dm.sqlite"))
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url.removeprefix(prefix)
    return database_url


def open_repository(database_url: str | None, data_dir: str) -> Repository:
    """Open the repository the settings name (DM_DATABASE_URL, DM_DATA_DIR).

    The schema is created or migrated on open.
    """
    return SqlRepository(resolve_database_url(database_url, data_dir))
