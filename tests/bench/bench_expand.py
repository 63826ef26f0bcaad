"""Expansion latency and throughput through HTTP against a dm-expander process.

Run: .venv/bin/python -m tests.bench.bench_expand [--beside DIR]

Prints one line per case: median and p90 latency of sequential requests to a
one-worker service for a typical configuration (about 10 resources from Jinja and
Python templates with schemas), 1,000 primitives and 100 template invocations, with
the CPU time the service's processes spent per request (which depends far less than
latency on what else the machine is doing) and the load average; then requests per
second with several workers and as many concurrent clients. With `--beside DIR`, the
expander of another source tree (say a worktree of an earlier commit) is measured too,
the two services taking turns batch by batch, and the throughput is left out.

Measured on the two-core development machine, shared with other test suites, with
`--beside` a tree of the commit before the fork server answered first (load average
2.0; six more such runs at load 2.0 to 3.0 are summed up below the table):

    case                       median ms       p90 ms          service CPU ms/request
                               before  after   before  after   before  after
    typical                    5.7     5.0     8.7     7.7     8.6     7.9
    1,000 primitives           24.5    22.3    27.6    24.7    28.0    23.7
    100 template invocations   18.9    18.6    21.1    20.7    24.0    21.0

Over the seven runs, medians after (before): typical 4.7 to 7.5 ms (5.1 to 8.3),
1,000 primitives 22.3 to 31.8 ms (24.5 to 35.9), 100 invocations 18.6 to 26.6 ms (18.9 to
33.9); CPU per request after (before): 7.7 to 9.9 ms (8.3 to 10.7), 23.7 to 26.8 ms (26.3
to 31.7), 18.0 to 22.3 ms (21.0 to 27.0). Under heavier load latency grows with it and
the CPU column somewhat too: at load average 10, with only the fork server's change,
typical was 19.7 ms (25.5 before) at 11.0 ms of CPU (11.9). In-process, templates
compiled and schemas kept, the expansion itself takes 0.78 ms of CPU (typical; 0.82
before), 14.1 ms (1,000 primitives; 15.1) and 11.7 ms (100 invocations; 13.3).

Where a typical request's CPU goes after, largest first (page faults cost about 2.4 us
each on this virtual machine, copy-on-write or not, and dominate a fresh process):
(1) the spare priming itself with a sample, 2.7 ms (about 990 faults; before the
request, off its path); (2) forking, 0.7 to 0.9 ms in the fork server and 0.9 ms in the
child returning from fork and confining itself (about 380 faults), off the path too;
(3) the expansion in the child, 1.2 ms on the path (0.8 ms of work: YAML 41%, schema
validation 21%, Jinja 12%, JSON 5%; about 120 faults); (4) the gunicorn worker, about
1 ms (HTTP, Flask, the pipes to the fork server); (5) the child exiting, 0.8 ms, after
the answer at the lowest priority. The fork server's other work is about 0.4 ms and the
bench's own client 0.6 to 1 ms. Of the larger cases' expansion, YAML (libyaml's events,
made into Python objects by PyYAML's C parser, then the one-pass builder) is 83%
(1,000 primitives) and 57% (100 invocations), JSON encoding 11% and 5%, schema
validation 19% and Jinja 12% of the 100 invocations.

The typical median stays under 6 ms while the load average is about 2.5 or less; above
that it does not, because each request also costs about 5 ms of CPU off its path
(priming, forking, exit) on two cores that other work shares. The other two targets
hold in all the runs above.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import requests

from tests.support import start_service

SERVICE_JINJA = textwrap.dedent("""\
    resources:
    - name: {{ env["name"] }}
      type: Deployment
      properties:
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: {{ env["name"] }}, labels: {app: {{ env["name"] }}}}
        spec:
          replicas: {{ properties["replicas"] }}
          selector: {matchLabels: {app: {{ env["name"] }}}}
          template:
            metadata: {labels: {app: {{ env["name"] }}}}
            spec:
              containers:
              - name: main
                image: {{ properties["image"] }}
                ports: [{containerPort: {{ properties["port"] }}}]
    - name: {{ env["name"] }}-svc
      type: Service
      properties:
        apiVersion: v1
        kind: Service
        metadata: {name: {{ env["name"] }}}
        spec:
          selector: {app: {{ env["name"] }}}
          ports: [{port: {{ properties["port"] }}}]
""")

SERVICE_SCHEMA = textwrap.dedent("""\
    info: {title: A replicated service}
    required: [image]
    properties:
      image: {type: string}
      replicas: {type: integer, default: 1, minimum: 0}
      port: {$ref: '#/definitions/port'}
    definitions:
      port: {type: integer, default: 80, minimum: 1, maximum: 65535}
""")

STACK_PY = textwrap.dedent("""\
    import helpers.naming


    def GenerateConfig(context):
        props = context.properties
        resources = []
        for tier in props['tiers']:
            resources.append({
                'name': helpers.naming.name(context.env['name'], tier['name']),
                'type': 'service.jinja',
                'properties': {'image': tier['image'], 'replicas': tier.get('replicas', 1)},
            })
        resources.append({
            'name': context.env['name'] + '-config',
            'type': 'ConfigMap',
            'properties': {'apiVersion': 'v1', 'kind': 'ConfigMap',
                           'metadata': {'name': context.env['name'] + '-config'},
                           'data': {'tiers': ','.join(t['name'] for t in props['tiers'])}},
        })
        return {'resources': resources}
""")

STACK_SCHEMA = textwrap.dedent("""\
    required: [tiers]
    properties:
      tiers:
        type: array
        items:
          type: object
          required: [name, image]
          properties:
            name: {type: string}
            image: {type: string}
            replicas: {type: integer, default: 2}
""")

TYPICAL_CONFIG = textwrap.dedent("""\
    imports:
    - path: stack.py
    resources:
    - name: shop
      type: stack.py
      properties:
        tiers:
        - {name: web, image: "nginx:1.25"}
        - {name: api, image: "shop/api:3", replicas: 3}
        - {name: worker, image: "shop/worker:3"}
    - name: cache
      type: service.jinja
      properties: {image: "redis:7", port: 6379}
    - name: settings
      type: ConfigMap
      properties: {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {a: b}}
""")

IMPORTS = {
    "service.jinja": SERVICE_JINJA,
    "service.jinja.schema": SERVICE_SCHEMA,
    "stack.py": STACK_PY,
    "stack.py.schema": STACK_SCHEMA,
    "helpers/naming.py": "def name(*parts):\n    return '-'.join(parts)\n",
}


def _body(content: str) -> dict:
    imports = [{"name": k, "path": k, "content": v} for k, v in IMPORTS.items()]
    return {
        "template": {"name": "bench", "content": content, "imports": imports},
        "env": {"deployment": "bench", "project": "default"},
    }


def _primitives(count: int) -> str:
    lines = ["resources:"]
    for index in range(count):
        lines.append(
            f"- {{name: cm-{index}, type: ConfigMap, properties: {{apiVersion: v1,"
            f" kind: ConfigMap, metadata: {{name: cm-{index}}}, data: {{key: value-{index}}}}}}}"
        )
    return "\n".join(lines) + "\n"


def _invocations(count: int) -> str:
    lines = ["resources:"]
    for index in range(count):
        lines.append(f"- {{name: svc-{index}, type: service.jinja, properties: {{image: img}}}}")
    return "\n".join(lines) + "\n"


TYPICAL = "typical (10 resources, Jinja+Python, schemas)"
CASES = {
    TYPICAL: (_body(TYPICAL_CONFIG), 10, 200),
    "1,000 primitives": (_body(_primitives(1000)), 1000, 30),
    "100 template invocations": (_body(_invocations(100)), 200, 30),
}


def _post(session: requests.Session, url: str, body: dict, expected: int) -> float:
    started = time.perf_counter()
    response = session.post(f"{url}/expand", json=body, timeout=60)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    assert len(response.json()["config"]["resources"]) == expected
    return elapsed


def _cpu_seconds(group: int) -> float:
    """CPU time of the live processes of a process group and of the children they reaped."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += sum(int(value) for value in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


# Requests of a case are sent in this many batches, taking turns between the services
# measured side by side, so both meet the same moments of the machine's load.
_BATCHES = 10


def _latency(services: dict[str, tuple[int, str]], name: str, case: tuple) -> None:
    """Median and p90 latency and service CPU per request of a case, for each service
    (label -> (process group, URL))."""
    body, expected, runs = case
    sessions = {label: requests.Session() for label in services}
    samples: dict[str, list[float]] = {label: [] for label in services}
    cpu = dict.fromkeys(services, 0.0)
    for label, (_, url) in services.items():
        for _ in range(5):
            _post(sessions[label], url, body, expected)
    loads = []
    for _ in range(_BATCHES):
        for label, (group, url) in services.items():
            cpu_before = _cpu_seconds(group)
            samples[label] += [
                _post(sessions[label], url, body, expected) for _ in range(runs // _BATCHES)
            ]
            cpu[label] += _cpu_seconds(group) - cpu_before
        loads.append(os.getloadavg()[0])
    for label, taken in samples.items():
        taken.sort()
        median = statistics.median(taken) * 1000
        p90 = taken[int(len(taken) * 0.9) - 1] * 1000
        print(
            f"expand {name}{label}: median {median:.1f} ms, p90 {p90:.1f} ms over"
            f" {len(taken)} requests; service CPU {cpu[label] / len(taken) * 1000:.1f} ms/request"
            f" (load average {statistics.mean(loads):.1f})"
        )


def _throughput(url: str, workers: int, seconds: float = 5.0) -> None:
    body, expected, _ = CASES[TYPICAL]
    counts = [0] * workers
    deadline = time.monotonic() + seconds

    def client(slot: int) -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            _post(session, url, body, expected)
            counts[slot] += 1

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(counts) / seconds
    load = os.getloadavg()[0]
    print(
        f"expand throughput (typical config, {workers} workers, {workers} clients):"
        f" {rate:.0f} requests/s (load average {load:.1f} on {os.cpu_count()} CPUs)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--beside",
        metavar="DIR",
        help="also measure the expander of another source tree (e.g. a worktree of an earlier"
        " commit), taking turns with this one",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dm-bench-expand-"))
    started = {"": start_service("expander", workdir, ["--workers", "1"])}
    if args.beside:
        started = {" (this tree)": started[""], f" ({args.beside})": start_service(
            "expander", workdir, ["--workers", "1"], env={"PYTHONPATH": args.beside}
        )}
    try:
        services = {label: (process.process.pid, url) for label, (process, url) in started.items()}
        for name, case in CASES.items():
            _latency(services, name, case)
    finally:
        for process, _ in started.values():
            process.stop()
    if args.beside:
        return
    workers = 4
    several, url = start_service("expander", workdir, ["--workers", str(workers)])
    try:
        for _ in range(3 * workers):
            _post(requests.Session(), url, *CASES[TYPICAL][:2])
        _throughput(url, workers)
    finally:
        several.stop()


if __name__ == "__main__":
    main()
