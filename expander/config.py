"""Settings of the expander service."""

from __future__ import annotations

from typing import Any, Mapping

from dmcommon.settings import COMMON_SETTINGS, load_settings

SETTINGS = COMMON_SETTINGS


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults < DM_* environment < `overrides`."""
    return load_settings(SETTINGS, overrides)
