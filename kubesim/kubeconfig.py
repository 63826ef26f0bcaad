"""The kubeconfig that points kubectl at a simulator."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

NAME = "sim"


def kubeconfig(server_url: str) -> dict:
    """A kubeconfig whose cluster, user and current context are all named "sim"."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": NAME, "cluster": {"server": server_url}}],
        "users": [{"name": NAME, "user": {"token": "sim"}}],
        "contexts": [{"name": NAME, "context": {"cluster": NAME, "user": NAME,
                                                 "namespace": "default"}}],
        "current-context": NAME,
        "preferences": {},
    }


def write_kubeconfig(path: Path, server_url: str) -> None:
    """Write the kubeconfig atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(yaml.safe_dump(kubeconfig(server_url), sort_keys=False))
    os.replace(temporary, path)
