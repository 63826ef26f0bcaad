"""Service settings: a default, overridden by a DM_* environment variable, then by the caller."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence


def parse_bool(text: str) -> bool:
    """Read a boolean the way environment variables usually spell one."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


@dataclass(frozen=True)
class Setting:
    """One setting: its config key, environment variable, default and parser."""

    key: str
    env: str
    default: Any = None
    parse: Callable[[str], Any] = str
    help: str = ""
    flag_name: str | None = None

    @property
    def flag(self) -> str:
        """The console-script flag: `flag_name`, else derived (DM_KUBECONFIG -> --kubeconfig)."""
        if self.flag_name:
            return self.flag_name
        name = self.env.removeprefix("DM_")
        return "--" + name.lower().replace("_", "-")


def load_settings(
    settings: Sequence[Setting],
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return `{key: value}` with precedence defaults < environment < overrides.

    A variable may instead name a file that holds its value, as `<variable>_FILE`
    (how Compose and Kubernetes hand over secrets such as `DM_INTERNAL_TOKEN_FILE`);
    the variable itself wins when it is set and not empty.
    """
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in settings:
        value = setting.default
        raw = environ.get(setting.env)
        if not raw and environ.get(setting.env + "_FILE"):
            raw = _read_value_file(setting.env + "_FILE", environ[setting.env + "_FILE"])
        if raw is not None:
            try:
                value = setting.parse(raw)
            except ValueError as error:
                raise ValueError(f"{setting.env}: {error}") from None
        config[setting.key] = value
    config.update(overrides or {})
    return config


def _read_value_file(variable: str, path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError as error:
        raise ValueError(f"{variable}: cannot read {path}: {error.strerror}") from None


COMMON_SETTINGS = (
    Setting(
        "MAX_CONTENT_LENGTH",
        "DM_MAX_REQUEST_BYTES",
        10 * 1024 * 1024,
        int,
        "largest request body accepted, in bytes",
    ),
    Setting(
        "INTERNAL_TOKEN",
        "DM_INTERNAL_TOKEN",
        None,
        str,
        "shared token on calls between the services",
    ),
)
