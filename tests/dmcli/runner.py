"""Run the installed `dm` console script as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from tests.support import BIN, kubectl

DM = str(BIN / "dm")


def run_dm(
    service: str, *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run `dm --service SERVICE ARGS`; with `check`, fail the test on a non-zero exit."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("DM_SERVICE", "DM_API_TOKEN")
    }
    result = subprocess.run(
        [DM, "--service", service, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"dm {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result


def dm_json(service: str, *args: str) -> Any:
    """Run a dm command with `-o json` and return its parsed output."""
    return json.loads(run_dm(service, "-o", "json", *args).stdout)


def new_namespace(kubeconfig: Path, prefix: str) -> str:
    """Create a namespace with a unique name in the cluster of `kubeconfig`; return its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    kubectl(kubeconfig, "create", "namespace", name)
    return name
