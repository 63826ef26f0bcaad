"""Apply, re-apply and delete the guestbook-shaped example on each resourcifier backend.

Run: .venv/bin/python -m tests.bench.bench_backends   (needs scripts/docker-engine.sh first)

The example (tests/resourcifier/backends/docker/guestbook: three Deployments and three
Services, 7 pods) is expanded once by a real expander; each backend then gets it through
a gunicorn-served resourcifier, as the manager sends it: one request for the whole
batch. Prints one line per backend with the median of a few rounds: kubectl on the
simulator (whose pods are simulated, no container runs) and docker on a real engine (which
starts containers).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

from tests.support import start_service, start_simulator

EXAMPLE = Path(__file__).resolve().parents[1] / "resourcifier" / "backends" / "docker" / "guestbook"
ROUNDS = 5


def expanded_guestbook(expander: str) -> list[dict]:
    imports = [
        {"name": path.name, "path": path.name, "content": path.read_text()}
        for path in sorted(EXAMPLE.glob("busybox_service.jinja*"))
    ]
    template = {
        "name": "guestbook",
        "content": (EXAMPLE / "guestbook.yaml").read_text(),
        "imports": imports,
    }
    response = requests.post(
        f"{expander}/expand",
        json={"template": template, "env": {"deployment": "guestbook", "project": "bench"}},
        timeout=60,
    )
    response.raise_for_status()
    return response.json()["config"]["resources"]


def timed(url: str, method: str, body: dict, expected: str) -> float:
    started = time.perf_counter()
    response = requests.request(method, f"{url}/configurations", json=body, timeout=600)
    elapsed = time.perf_counter() - started
    states = {resource["state"]["status"] for resource in response.json()["resources"]}
    assert states == {expected}, response.text
    return elapsed


def measure(name: str, url: str, resources: list[dict]) -> None:
    namespace_object = {
        "name": "ns",
        "type": "Namespace",
        "properties": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "bench-backends"},
        },
    }
    requests.post(f"{url}/configurations", json={"resources": [namespace_object]}, timeout=60)
    body = {"resources": resources, "namespace": "bench-backends"}
    applies, reapplies, deletes = [], [], []
    try:
        for _ in range(ROUNDS):
            applies.append(timed(url, "POST", body, "Created"))
            reapplies.append(timed(url, "POST", body, "Created"))
            deletes.append(timed(url, "DELETE", body, "Deleted"))
    finally:
        requests.delete(
            f"{url}/configurations", json={"resources": [namespace_object]}, timeout=120
        )
    print(
        f"{name:>7}: guestbook ({len(resources)} resources) apply "
        f"{statistics.median(applies):5.2f} s, unchanged re-apply "
        f"{statistics.median(reapplies):5.2f} s, delete {statistics.median(deletes):5.2f} s "
        f"(median of {ROUNDS})"
    )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="dm-bench-backends-"))
    expander, expander_url = start_service("expander", workdir)
    sim, _, kubeconfig = start_simulator(workdir)
    kubectl_backend, kubectl_url = start_service(
        "resourcifier", workdir, ["--workers", "1", "--kubeconfig", str(kubeconfig)]
    )
    docker_backend, docker_url = start_service(
        "resourcifier", workdir, ["--workers", "1"], env={"DM_RESOURCIFIER_BACKEND": "docker"}
    )
    try:
        resources = expanded_guestbook(expander_url)
        measure("kubectl", kubectl_url, resources)
        measure("docker", docker_url, resources)
    finally:
        for process in (docker_backend, kubectl_backend, sim, expander):
            process.stop()


if __name__ == "__main__":
    main()
