"""Manager API latency with 10,000 deployments stored.

Run: .venv/bin/python -m tests.bench.bench_manager

The deployments are seeded straight into a SQLite file with the repository's tables, then
a real manager (gunicorn, 2 workers) serves them over a real expander. POST is measured
against a resourcifier stand-in that answers at once, so the figure is the manager's own
work (validation, expansion over HTTP, storage, level-by-level apply calls) without
kubectl's time. Each case prints one line: median and p90 in milliseconds.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from sqlalchemy import create_engine, insert

from manager.models import utc_now
from manager.repository import open_repository
from manager.repository.schema import deployments, manifests
from tests.support import start_service

STORED = 10_000
CONFIG = (
    "resources:\n"
    "- name: web\n  type: Service\n  properties:\n    apiVersion: v1\n    kind: Service\n"
    "    metadata: {name: web}\n    spec: {ports: [{port: 80}]}\n"
    "- name: conf\n  type: ConfigMap\n  properties:\n    apiVersion: v1\n    kind: ConfigMap\n"
    "    metadata: {name: conf}\n    data: {ip: $(ref.web.spec.clusterIP)}\n"
)


class _InstantResourcifier(BaseHTTPRequestHandler):
    """Answers the backend contract at once: every object applies and exists."""

    def do_GET(self):
        if self.path == "/healthz":
            return self._send(200, "ok")
        kind, name = self.path.split("?")[0].split("/")[2:4]
        return self._send(
            200, {"kind": kind, "metadata": {"name": name}, "spec": {"clusterIP": "10.0.0.1"}}
        )

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        for resource in body["resources"]:
            resource["state"] = {"status": "Created", "errors": []}
            resource["live"] = {**resource["properties"], "spec": {"clusterIP": "10.0.0.1"}}
        return self._send(201, body)

    def _send(self, status, body):
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _seed(data_dir: Path) -> None:
    """10,000 Deployed deployments, each with one manifest, in one transaction."""
    url = f"sqlite:///{data_dir / 'dm.sqlite'}"
    open_repository(url, str(data_dir)).close()
    now = utc_now()
    template = json.dumps({"name": "x", "content": CONFIG, "imports": []})
    rows, docs = [], []
    for index in range(STORED):
        name = f"app-{index:05d}"
        rows.append(
            {
                "name": name,
                "namespace": "default",
                "created_at": now,
                "deployed_at": now,
                "modified_at": now,
                "status": "Deployed",
                "errors": "[]",
                "latest_manifest": "manifest-1",
                "fingerprint": f"{index:032x}",
            }
        )
        docs.append(
            {
                "deployment": name,
                "name": "manifest-1",
                "created_at": now,
                "input_config": template,
                "expanded_config": '{"resources": []}',
                "layout": '{"resources": []}',
            }
        )
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(deployments), rows)
        conn.execute(insert(manifests), docs)
    engine.dispose()


def _measure(label: str, count: int, call) -> None:
    times = []
    for index in range(count):
        started = time.perf_counter()
        call(index)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p90 = times[int(len(times) * 0.9) - 1]
    print(
        f"{label}: median {statistics.median(times):.1f} ms, p90 {p90:.1f} ms "
        f"({count} requests, {STORED} deployments stored)"
    )


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-manager-"))
    data_dir = workdir / "data"
    data_dir.mkdir()
    _seed(data_dir)
    stand_in = ThreadingHTTPServer(("127.0.0.1", 0), _InstantResourcifier)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    expander, expander_url = start_service("expander", workdir)
    manager, url = start_service(
        "manager",
        workdir,
        [
            "--expander-url",
            expander_url,
            "--resourcifier-url",
            f"http://127.0.0.1:{stand_in.server_port}",
            "--data-dir",
            str(data_dir),
        ],
    )
    session = requests.Session()
    try:
        names = [f"app-{index:05d}" for index in random.sample(range(STORED), 500)]

        def get_one(index: int) -> None:
            assert session.get(f"{url}/deployments/{names[index]}", timeout=30).ok

        def list_all(_index: int) -> None:
            assert len(session.get(f"{url}/deployments", timeout=30).json()) >= STORED

        def create(index: int) -> None:
            body = {"name": f"new-{index}", "content": CONFIG}
            response = session.post(f"{url}/deployments", json=body, timeout=30)
            assert response.json()["state"]["status"] == "Deployed", response.text

        for index in range(20):
            get_one(index)
        _measure("GET /deployments/{name}", 500, get_one)
        _measure("GET /deployments", 50, list_all)
        _measure("POST /deployments (2 resources, 2 levels, instant resourcifier)", 100, create)
    finally:
        manager.stop()
        expander.stop()
        stand_in.shutdown()


if __name__ == "__main__":
    main()
