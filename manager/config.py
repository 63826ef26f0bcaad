"""Settings of the manager service."""

from __future__ import annotations

from typing import Any, Mapping

from dmcommon.settings import COMMON_SETTINGS, Setting, load_settings

SETTINGS = COMMON_SETTINGS + (
    Setting("EXPANDER_URL", "DM_EXPANDER_URL", None, str, "expander base URL (else discovered)"),
    Setting(
        "RESOURCIFIER_URL",
        "DM_RESOURCIFIER_URL",
        None,
        str,
        "resourcifier base URL (else discovered)",
    ),
    Setting("DATA_DIR", "DM_DATA_DIR", "./data", str, "directory for the embedded SQLite file"),
    Setting(
        "DATABASE_URL",
        "DM_DATABASE_URL",
        None,
        str,
        "SQLAlchemy URL (default: sqlite file under the data directory)",
    ),
    Setting("API_TOKEN", "DM_API_TOKEN", None, str, "require this bearer token on the API"),
    Setting(
        "DEFAULT_NAMESPACE", "DM_DEFAULT_NAMESPACE", "default", str, "namespace of new deployments"
    ),
    Setting(
        "DOWNSTREAM_TIMEOUT",
        "DM_DOWNSTREAM_TIMEOUT",
        120,
        int,
        "seconds allowed per call to the expander or resourcifier",
    ),
    Setting(
        "OPERATION_WORKERS",
        "DM_OPERATION_WORKERS",
        4,
        int,
        "operations each manager process runs at once in the background",
    ),
    Setting(
        "OPERATION_LEASE_SECONDS",
        "DM_OPERATION_LEASE_SECONDS",
        20,
        int,
        "seconds after which another process resumes an operation whose owner stopped",
    ),
    Setting(
        "DRIFT_INTERVAL",
        "DM_DRIFT_INTERVAL",
        0,
        int,
        "seconds between drift checks of every deployment (0: only when asked)",
    ),
    Setting(
        "TEMPLATE_URL_ALLOWED_HOSTS",
        "DM_TEMPLATE_URL_ALLOWED_HOSTS",
        None,
        str,
        "comma-separated hosts template URLs may name, on any address (default: any public host)",
    ),
)


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults < DM_* environment < `overrides`."""
    return load_settings(SETTINGS, overrides)
