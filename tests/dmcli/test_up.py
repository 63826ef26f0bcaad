"""`dm up --cluster sim`: the whole local stack in the foreground, stopped without orphans."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.dmcli.fixtures import write_guestbook_copy
from tests.dmcli.runner import DM, dm_json, new_namespace, run_dm
from tests.resourcifier.backends.docker.engine import engine_client, remove_namespace_leftovers
from tests.support import free_port, kubectl, wait_until

# Most tests start a whole stack of four processes.
pytestmark = pytest.mark.slow

GUESTBOOK = Path(__file__).resolve().parents[2] / "examples" / "guestbook" / "guestbook.yaml"
READY_LINE = "Press Ctrl-C to stop."


@dataclass
class Up:
    """A running `dm up` and what it was told."""

    process: subprocess.Popen
    data_dir: Path
    ports: dict[str, int]
    output: Path

    @property
    def manager(self) -> str:
        return f"http://127.0.0.1:{self.ports['manager']}"

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def start_up(tmp_path: Path, *cluster: str) -> Up:
    """Start `dm up` on free ports; `cluster` defaults to `--cluster sim`."""
    ports = {name: free_port() for name in ("manager", "expander", "resourcifier", "sim")}
    data_dir = tmp_path / "dm-data"
    output = tmp_path / "up.out"
    with open(output, "wb") as sink:
        process = subprocess.Popen(
            [
                DM,
                "up",
                *(cluster or ("--cluster", "sim")),
                "--data-dir",
                str(data_dir),
                "--workers",
                "1",
                "--manager-port",
                str(ports["manager"]),
                "--expander-port",
                str(ports["expander"]),
                "--resourcifier-port",
                str(ports["resourcifier"]),
                "--sim-port",
                str(ports["sim"]),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return Up(process, data_dir, ports, output)


def wait_ready(up: Up) -> None:
    def ready() -> bool:
        if up.process.poll() is not None:
            raise AssertionError(f"dm up exited {up.process.returncode}:\n{up.text()}")
        return READY_LINE in up.text()

    wait_until(ready, timeout=90, interval=0.1)


def stack_processes(up: Up) -> list[int]:
    """Pids of processes started for this `dm up` (found by its unique ports)."""
    markers = [f"--port\0{port}\0".encode() for port in up.ports.values()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == up.process.pid:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if any(marker in cmdline for marker in markers):
            found.append(int(entry.name))
    return found


@pytest.fixture
def up(tmp_path):
    running = start_up(tmp_path)
    yield running
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(timeout=30)


def test_a_user_deploys_updates_rolls_back_and_deletes_on_the_simulator(up, tmp_path):
    wait_ready(up)
    kubeconfig = up.data_dir / "sim.kubeconfig"
    run_dm(up.manager, "deploy", str(GUESTBOOK))
    assert kubectl(kubeconfig, "get", "deployment", "frontend").returncode == 0

    scaled = write_guestbook_copy(tmp_path, frontend_replicas=1)
    run_dm(up.manager, "update", str(scaled), "--name", "guestbook")
    replicas = kubectl(
        kubeconfig, "get", "deployment", "frontend", "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas.stdout == "1"

    run_dm(up.manager, "rollback", "guestbook")
    replicas = kubectl(
        kubeconfig, "get", "deployment", "frontend", "-o", "jsonpath={.spec.replicas}"
    )
    assert replicas.stdout == "3"

    run_dm(up.manager, "delete", "guestbook")
    left = kubectl(
        kubeconfig,
        "get",
        "deployments,services",
        "-l",
        "deployment-manager.io/deployment=guestbook",
        "-o",
        "json",
    )
    assert json.loads(left.stdout)["items"] == []
    assert (up.data_dir / "sim-state").is_dir()


def test_up_prints_what_to_do_next_and_ctrl_c_stops_every_child(up):
    wait_ready(up)
    text = up.text()
    assert f"manager       http://127.0.0.1:{up.ports['manager']}" in text
    assert f"simulator     http://127.0.0.1:{up.ports['sim']}" in text
    assert f"export KUBECONFIG={up.data_dir / 'sim.kubeconfig'}" in text
    assert f"export DM_SERVICE={up.manager}" in text
    assert "dm deploy examples/guestbook/guestbook.yaml" in text
    assert len(stack_processes(up)) >= 4
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(timeout=30) == 0
    assert stack_processes(up) == []
    assert "DM stopped" in up.text()


def pids_of(up: Up, service: str) -> list[int]:
    port = up.ports["sim" if service == "simulator" else service]
    marker = f"--port\0{port}\0".encode()
    return [
        pid for pid in stack_processes(up) if marker in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


@pytest.mark.parametrize("service", ["expander", "resourcifier", "manager", "simulator"])
def test_a_service_killed_with_sigkill_is_restarted_and_reported(up, service):
    wait_ready(up)
    (leader, *_) = sorted(pids_of(up, service))
    os.killpg(os.getpgid(leader), signal.SIGKILL)
    wait_until(lambda: f"{service} is back at " in up.text(), timeout=60, interval=0.1)
    assert up.process.poll() is None
    text = up.text()
    assert f"{service} exited with code -9; restarting it in 1 s (log: " in text
    assert f"{service} restarted (restart 1)" in text
    assert leader not in pids_of(up, service)
    assert dm_json(up.manager, "list") == []


def test_a_busy_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [
                DM,
                "up",
                "--cluster",
                "sim",
                "--data-dir",
                str(tmp_path / "d"),
                "--manager-port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: port {port} on 127.0.0.1 is already in use (another `dm up`?); "
        "stop what uses it or choose another port with --manager-port"
    )
    assert time.monotonic() - started < 10
    assert not (tmp_path / "d").exists()


def test_up_on_a_kube_context_applies_there_and_sigterm_stops_every_child(simulator, tmp_path):
    namespace = new_namespace(simulator.kubeconfig, "up-kube")
    up = start_up(tmp_path, "--cluster", "kube", "--kubeconfig", str(simulator.kubeconfig))
    try:
        wait_ready(up)
        assert "on kubectl's current context" in up.text()
        assert "KUBECONFIG" not in up.text()
        template = GUESTBOOK.parent / "replicated_service.py"
        run_dm(
            up.manager,
            "deploy",
            str(template),
            "--name",
            "cache",
            "--namespace",
            namespace,
            "-p",
            "image=redis:7,port=6379",
        )
        cache = kubectl(
            simulator.kubeconfig, "-n", namespace, "get", "deployment", "cache", "-o", "json"
        )
        labels = json.loads(cache.stdout)["metadata"]["labels"]
        assert labels["deployment-manager.io/deployment"] == "cache"
        assert (up.data_dir / "state").is_dir() and not (up.data_dir / "sim-state").exists()
    finally:
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=30) == 0
    assert stack_processes(up) == []


def run_up(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """`dm up ARGS` on free ports, expected to fail at start-up."""
    return subprocess.run(
        [
            DM,
            "up",
            "--data-dir",
            str(tmp_path / "d"),
            "--manager-port",
            str(free_port()),
            "--expander-port",
            str(free_port()),
            "--resourcifier-port",
            str(free_port()),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_kubeconfig_is_reported_before_anything_starts(tmp_path):
    result = run_up(tmp_path, "--kubeconfig", "/nonexistent")
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: --kubeconfig /nonexistent: no such file"
    assert "DM is up" not in result.stdout


def test_an_unknown_context_is_reported_with_the_known_ones(simulator, tmp_path):
    result = run_up(tmp_path, "--kubeconfig", str(simulator.kubeconfig), "--context", "nope")
    contexts = kubectl(simulator.kubeconfig, "config", "get-contexts", "-o", "name").stdout.split()
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: --context nope: no such context in {simulator.kubeconfig} "
        f"(it has: {', '.join(contexts)})"
    )


def test_a_cluster_that_does_not_answer_is_reported_and_the_stack_stopped(tmp_path):
    kubeconfig = tmp_path / "dead.kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: dead\n"
        f"clusters:\n- name: dead\n  cluster: {{server: 'http://127.0.0.1:{free_port()}'}}\n"
        "contexts:\n- name: dead\n  context: {cluster: dead, user: u}\n"
        "users:\n- name: u\n  user: {}\n"
    )
    result = run_up(tmp_path, "--kubeconfig", str(kubeconfig), "--ready-timeout", "1")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Error: the resourcifier cannot reach the cluster: the cluster does not answer: "
    )
    assert result.stderr.strip().endswith("; check --kubeconfig and --context")
    assert "DM is up" not in result.stdout


def test_a_negative_ready_timeout_is_a_usage_error(tmp_path):
    result = run_up(tmp_path, "--cluster", "sim", "--ready-timeout", "-1")
    # The wording is click's; what matters is a usage error naming the option, before
    # anything starts.
    assert result.returncode == 2
    assert "'--ready-timeout'" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "d").exists()


def test_docker_backend_refuses_a_cluster_flag(tmp_path):
    result = run_up(tmp_path, "--backend", "docker", "--cluster", "sim")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: --backend docker runs without a cluster: leave out --cluster, "
        "--kubeconfig and --context"
    )


@pytest.mark.docker
def test_docker_backend_runs_the_resources_on_the_engine(tmp_path):
    client = engine_client()
    namespace = f"up{os.getpid()}-cm"
    up = start_up(tmp_path, "--backend", "docker")
    try:
        wait_ready(up)
        assert up.text().startswith(
            f"DM is up on the Docker engine; state and logs in {up.data_dir}"
        )
        config = tmp_path / "settings.yaml"
        config.write_text(
            "resources:\n- name: settings\n  type: ConfigMap\n  properties:\n"
            "    {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {a: b}}\n"
        )
        run_dm(up.manager, "deploy", str(config), "-n", namespace)
        assert dm_json(up.manager, "get", "settings")["state"]["status"] == "Deployed"
        run_dm(up.manager, "delete", "settings")
    finally:
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=30) == 0
        remove_namespace_leftovers(client, namespace)
        client.close()

def test_up_gives_the_services_a_generated_internal_token(up):
    """Nobody but the manager is served by the expander and the resourcifier."""
    wait_ready(up)
    expander = f"http://127.0.0.1:{up.ports['expander']}"
    resourcifier = f"http://127.0.0.1:{up.ports['resourcifier']}"

    expand = requests.post(f"{expander}/expand", json={}, timeout=10)
    objects = requests.get(f"{resourcifier}/configurations/ConfigMap", timeout=10)

    assert (expand.status_code, objects.status_code) == (401, 401)
    for name in ("manager", "expander", "resourcifier"):
        log = (up.data_dir / "logs" / f"{name}.log").read_text()
        assert "without DM_INTERNAL_TOKEN" not in log
