"""Configurations and small helpers shared by the manager's tests."""

from __future__ import annotations

from typing import Any

import yaml


def config_map(name: str, data: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data or {}}
    obj["metadata"].update(extra)
    return {"name": name, "type": "ConfigMap", "properties": obj}


def service(name: str, port: int = 80) -> dict[str, Any]:
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": port}]},
    }
    return {"name": name, "type": "Service", "properties": obj}


def template(name: str, *resources: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Template whose content lists `resources`."""
    return {"name": name, "content": yaml.safe_dump({"resources": list(resources)}), **fields}
