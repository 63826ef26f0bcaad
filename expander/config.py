"""Settings of the expander service."""

from __future__ import annotations

from typing import Any, Mapping

from dmcommon.settings import COMMON_SETTINGS, Setting, load_settings, parse_bool

SETTINGS = COMMON_SETTINGS + (
    Setting(
        "EXPANSION_TIMEOUT",
        "DM_EXPANSION_TIMEOUT",
        10,
        int,
        "wall-clock seconds allowed for expanding one request",
    ),
    Setting(
        "EXPANSION_CPU_SECONDS",
        "DM_EXPANSION_CPU_SECONDS",
        5,
        int,
        "CPU seconds allowed for expanding one request",
    ),
    Setting(
        "EXPANSION_MEMORY_MB",
        "DM_EXPANSION_MEMORY_MB",
        512,
        int,
        "memory (MiB) a request's expansion may allocate",
    ),
    Setting(
        "MAX_EXPANSION_DEPTH",
        "DM_MAX_EXPANSION_DEPTH",
        20,
        int,
        "deepest nesting of templates inside templates",
    ),
    Setting(
        "MAX_OUTPUT_BYTES",
        "DM_MAX_OUTPUT_BYTES",
        16 * 1024 * 1024,
        int,
        "largest output of one template, and of the whole expansion, in bytes",
    ),
    Setting(
        "STRICT_UNDEFINED",
        "DM_STRICT_UNDEFINED",
        False,
        parse_bool,
        "printing an undefined Jinja value is an error instead of a warning",
    ),
)


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults < DM_* environment < `overrides`."""
    return load_settings(SETTINGS, overrides)
