"""One simulator per test module (so resets and faults stay local), driven by the real kubectl."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from kubesim.client import SimControl
from tests.support import ServiceProcess, start_simulator
from tests.support_helm import HelmUnavailable, helm_binary

_names = itertools.count()


@dataclass
class Sim:
    process: ServiceProcess
    url: str
    kubeconfig: Path
    cache_dir: Path
    control: SimControl

    def kubectl_command(self, *args: str) -> list[str]:
        """The real kubectl's command line for this simulator, with its own discovery cache."""
        return ["kubectl", "--kubeconfig", str(self.kubeconfig), "--cache-dir",
                str(self.cache_dir), *args]

    def kubectl(self, *args: str, stdin: str | None = None,
                check: bool = True) -> subprocess.CompletedProcess:
        """Run the real kubectl against this simulator; with `check`, fail on a non-zero exit."""
        result = subprocess.run(self.kubectl_command(*args), input=stdin, capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result

    def get_json(self, *args: str) -> dict:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """A raw HTTP request to the simulator, for what kubectl cannot express."""
        return requests.request(method, f"{self.url}{path}", timeout=10, **kwargs)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Sim:
    workdir = tmp_path_factory.mktemp("sim")
    process, url, kubeconfig = start_simulator(workdir)
    yield Sim(process, url, kubeconfig, workdir / "kube-cache", SimControl(url))
    process.stop()


@pytest.fixture
def namespace(sim: Sim) -> str:
    """A fresh namespace, so tests sharing one simulator do not see each other's objects."""
    name = f"t{next(_names)}"
    sim.kubectl("create", "namespace", name)
    return name


@pytest.fixture(scope="session")
def helm_path() -> Path:
    """The real Helm 4 binary; outside CI a machine that cannot fetch it skips Helm's tests."""
    try:
        return helm_binary()
    except HelmUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"Helm is needed in CI: {error}")
        pytest.skip(f"Helm is not available: {error}")
