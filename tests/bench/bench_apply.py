"""Apply, then delete, 10 and 100 resources through the resourcifier against the simulator.

Run: .venv/bin/python -m tests.bench.bench_apply

Each case prints one line: wall time and kubectl processes through the service (one
batch per request), and the same work done the way the original implementation did
it, one kubectl process per resource, as the baseline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from tests.resourcifier.conftest import config_map, counting_kubectl, create_namespace
from tests.support import start_service, start_simulator

SIZES = (10, 100)


def _through_service(url: str, method: str, resources: list[dict], namespace: str) -> float:
    started = time.perf_counter()
    response = requests.request(
        method,
        f"{url}/configurations",
        json={"resources": resources, "namespace": namespace},
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    expected = "Created" if method == "POST" else "Deleted"
    states = {resource["state"]["status"] for resource in response.json()["resources"]}
    assert states == {expected}, response.text
    return elapsed


def _one_by_one(kubeconfig: Path, cache: str, verb: list[str], objects: list[dict]) -> float:
    started = time.perf_counter()
    for obj in objects:
        subprocess.run(
            ["kubectl", "--kubeconfig", str(kubeconfig), "--cache-dir", cache, *verb, "-f", "-"],
            input=json.dumps(obj),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
    return time.perf_counter() - started


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="dm-bench-apply-"))
    sim, _, kubeconfig = start_simulator(workdir)
    script, log = counting_kubectl(workdir)
    service, url = start_service(
        "resourcifier",
        workdir,
        ["--workers", "1", "--kubectl", str(script), "--kubeconfig", str(kubeconfig)],
    )
    cache = str(workdir / "baseline-cache")
    try:
        for size in SIZES:
            namespace, baseline_ns = f"bench-{size}", f"bench-{size}-baseline"
            create_namespace(kubeconfig, namespace)
            create_namespace(kubeconfig, baseline_ns)
            resources = [config_map(f"c{i}", value=f"{i}") for i in range(size)]
            # Warm both sides: the service's kind cache and kubectl's discovery cache.
            _through_service(url, "POST", [config_map("warm-up")], namespace)
            warm_up = config_map("warm-up", baseline_ns)["properties"]
            _one_by_one(kubeconfig, cache, ["apply"], [warm_up])
            objects = [
                config_map(f"c{i}", baseline_ns, value=f"{i}")["properties"] for i in range(size)
            ]
            for method, verb in (("POST", ["apply"]), ("DELETE", ["delete"])):
                log.clear()
                ours = _through_service(url, method, resources, namespace)
                calls = len(log.calls())
                theirs = _one_by_one(kubeconfig, cache, verb, objects)
                action = "apply" if method == "POST" else "delete"
                print(
                    f"{action} {size:>3} resources: service {ours:6.2f} s with {calls} kubectl; "
                    f"one kubectl per resource {theirs:6.2f} s with {size} kubectl; "
                    f"{theirs / ours:5.1f}x faster"
                )
    finally:
        service.stop()
        sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
