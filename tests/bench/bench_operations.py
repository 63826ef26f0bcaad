"""Operations end to end: health checks while operations run, a 200-resource deploy
followed live, and an update that changes one value of a 1,000-resource deployment.

Run: .venv/bin/python -m tests.bench.bench_operations

Real processes: the simulator, expander, resourcifier (kubectl) and a manager (gunicorn,
2 workers, SQLite). Each case prints one summary line.

- healthz: /healthz latency (median, p99) while 4 deploys of 50 resources run.
- deploy-200: wall time of a 200-ConfigMap deploy (POST to the end event) and the number
  of events its stream carried.
- update-1-of-1000: an update of a 1,000-ConfigMap deployment that changes one value
  (objects applied, seconds from the PUT to the end event), beside `sync`, which applies
  all 1,000 again; each with the CPU time the whole stack (simulator, expander,
  resourcifier with its kubectl runs, manager) spent on it, steadier than wall time on a
  shared machine. Target: the update ends in under 1.5 s.

Before and after the update was made cheaper (Nov 2026), measured side by side on the
2-core shared machine: this script run 3 times over services of each version in turn,
load average 1.7-2.1; ranges of the 3 runs, wall time (stack CPU):

| line             | before                    | after                     |
|------------------|---------------------------|---------------------------|
| update-1-of-1000 | 0.97-1.18 s (0.95-1.20 s) | 0.56-0.58 s (0.53-0.58 s) |
| sync             | 1.78-2.03 s (1.84-2.01 s) | 1.30-1.54 s (1.40-1.54 s) |
| deploy-1000      | 1.90-1.94 s               | 1.35-1.66 s               |
| deploy-200       | 0.44-0.66 s               | 0.36-0.47 s               |

The update's read of its 999 unchanged objects (to tell drift) is now one kubectl
listing rather than one request per object, its namespace is not looked for when those
objects were found in it, a wait the apply answer already found Healthy reads nothing
more (and is written with the operation's next change), a step is encoded once, the
configuration is not parsed for URL types it cannot hold, the services' garbage
collector leaves their start-up objects alone and runs less often, and the event
stream polls sooner after activity.

What the update still costs, by profile (stack CPU about 0.55 s): the resourcifier
about 0.22 s, most of it its two kubectl processes (the listing and the apply); the
manager about 0.22 s: recording 2,000 steps (their events, log lines, the operation and
the 1,000-resource manifest saved 3 times) about a third, the JSON of the status read
and its comparison, the request's expansion and plan; the expander and the simulator
about 0.03 s each.

On the idle machine, once everything was merged: update-1-of-1000 0.52 s (1 object
applied, 0.52 s CPU), sync 1.32 s, deploy-1000 1.37 s, deploy-200 0.37 s.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
import yaml

from tests.support import manager_flags, start_service, start_simulator


def config_maps(count: int, changed: int | None = None) -> str:
    resources = [
        {
            "name": f"cm-{i}",
            "type": "ConfigMap",
            "properties": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i}"},
                "data": {"value": "2" if i == changed else "1"},
            },
        }
        for i in range(count)
    ]
    return yaml.safe_dump({"resources": resources})


def follow(url: str, operation_id: str) -> tuple[dict, int]:
    """Read the operation's events to the end; (final operation, number of events)."""
    count = 0
    with requests.get(f"{url}/operations/{operation_id}/events", stream=True, timeout=600) as r:
        for line in r.iter_lines(decode_unicode=True):
            if line.startswith("data: "):
                count += 1
                event = json.loads(line[6:])
                if event["type"] == "end":
                    return event["operation"], count
    raise RuntimeError("the stream ended without an end event")


_TICKS = os.sysconf("SC_CLK_TCK")


def stack_cpu() -> float:
    """CPU seconds used so far by the services this script started (every descendant,
    running or already waited for: a kubectl run counts in the worker that ran it)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text() if entry.isdigit() else ""
        except OSError:
            continue
        if stat:
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            children.setdefault(int(fields[1]), []).append((int(entry), ticks))
    total, todo = 0, [os.getpid()]
    while todo:
        for pid, ticks in children.get(todo.pop(), []):
            total += ticks
            todo.append(pid)
    return total / _TICKS


def change(url: str, method: str, path: str, body=None) -> tuple[dict, float, int]:
    started = time.perf_counter()
    response = requests.request(method, url + path, json=body, timeout=60)
    response.raise_for_status()
    operation, events = follow(url, response.json()["id"])
    return operation, time.perf_counter() - started, events


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        sim, _, kubeconfig = start_simulator(workdir)
        expander, expander_url = start_service("expander", workdir)
        resourcifier, resourcifier_url = start_service(
            "resourcifier", workdir, ["--kubeconfig", str(kubeconfig)]
        )
        manager, url = start_service(
            "manager", workdir, manager_flags(workdir, expander_url, resourcifier_url)
        )
        try:
            _healthz_under_load(url)
            operation, seconds, events = change(
                url, "POST", "/deployments", {"name": "big", "content": config_maps(200)}
            )
            print(
                f"deploy-200: {operation['status']} in {seconds:.2f} s, "
                f"{events} events, {operation['progress']['total']} steps"
            )
            _update_one_of_many(url)
        finally:
            for process in (manager, resourcifier, expander, sim):
                process.stop()


def _healthz_under_load(url: str) -> None:
    started = [
        requests.post(
            f"{url}/deployments", json={"name": f"load-{i}", "content": config_maps(50)}, timeout=60
        ).json()["id"]
        for i in range(4)
    ]
    samples: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            began = time.perf_counter()
            requests.get(f"{url}/healthz", timeout=5)
            samples.append((time.perf_counter() - began) * 1000)
            time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    for operation_id in started:
        follow(url, operation_id)
    done.set()
    prober.join()
    samples.sort()
    p99 = samples[int(len(samples) * 0.99) - 1]
    print(
        f"healthz while 4 operations run: median {statistics.median(samples):.1f} ms, "
        f"p99 {p99:.1f} ms over {len(samples)} probes"
    )


def _update_one_of_many(url: str) -> None:
    body = {"name": "many", "content": config_maps(1000)}
    operation, seconds, _ = change(url, "POST", "/deployments", body)
    print(f"deploy-1000: {operation['status']} in {seconds:.2f} s")
    body = {"name": "many", "content": config_maps(1000, changed=500)}
    before = stack_cpu()
    operation, seconds, _ = change(url, "PUT", "/deployments/many", body)
    cpu = stack_cpu() - before
    applied = sum(
        1
        for step in operation["steps"]
        if step["action"] == "apply" and step["message"] == "Created"
    )
    before = stack_cpu()
    _, full, _ = change(url, "POST", "/deployments/many/sync")
    full_cpu = stack_cpu() - before
    print(
        f"update-1-of-1000: {operation['status']}, {applied} object applied in {seconds:.2f} s "
        f"({cpu:.2f} s CPU); sync (all 1,000 applied again) {full:.2f} s ({full_cpu:.2f} s CPU)"
    )


if __name__ == "__main__":
    main()
