"""Errors a user understands: wrong service URLs, things that are not a manager, typos."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dmcli.processes import Child
from tests.dmcli.runner import DM, dm_json, run_dm
from tests.support import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEMPLATE = EXAMPLES / "guestbook" / "replicated_service.py"
URL_USAGE = (
    "'localhost:8080' is not a manager URL: write it with its scheme, e.g. http://localhost:8080"
)


def run_plain(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `dm ARGS` with `env` added to an environment without DM_* settings."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("DM_")}
    return subprocess.run(
        [DM, *args], capture_output=True, text=True, timeout=60, env={**base, **(env or {})}
    )


def test_a_service_url_without_a_scheme_is_a_usage_error():
    result = run_plain("--service", "localhost:8080", "list")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"Error: --service: {URL_USAGE}"
    assert "Traceback" not in result.stderr


def test_dm_service_without_a_scheme_is_a_usage_error_naming_the_variable():
    result = run_plain("list", env={"DM_SERVICE": "localhost:8080"})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"Error: DM_SERVICE: {URL_USAGE}"


def not_a_manager(url: str, path: str, status: int) -> str:
    return (
        f"Error: {url} is not a DM manager (GET {path} answered HTTP {status}); "
        "check --service or DM_SERVICE"
    )


def test_the_resourcifier_is_not_a_manager(stack):
    result = run_dm(stack.resourcifier, "list", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == not_a_manager(stack.resourcifier, "/deployments", 404)


def test_the_expander_is_not_a_manager(stack):
    result = run_dm(stack.expander, "get", "guestbook", check=False)
    assert result.stderr.strip() == not_a_manager(stack.expander, "/deployments/guestbook", 404)


def test_the_simulator_is_not_a_manager(stack):
    result = run_dm(stack.simulator.url, "list", check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == not_a_manager(stack.simulator.url, "/deployments", 404)


@pytest.fixture
def web_page(tmp_path):
    """A plain web server whose every page is HTML."""
    (tmp_path / "deployments").write_text("<html><body>hello</body></html>")
    port = free_port()
    server = Child(
        "web",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        + ["--directory", str(tmp_path)],
        tmp_path / "web.log",
    )
    url = f"http://127.0.0.1:{port}"
    server.wait_until_answering(f"{url}/")
    yield url
    server.stop()


def test_an_html_page_is_not_a_manager(web_page):
    listed = run_dm(web_page, "list", check=False)
    assert listed.stderr.strip() == not_a_manager(web_page, "/deployments", 200)
    missing = run_dm(web_page, "get", "x", check=False)
    assert missing.stderr.strip() == not_a_manager(web_page, "/deployments/x", 404)


def test_a_template_type_typo_is_caught_before_anything_is_sent(stack, tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text(
        (EXAMPLES / "guestbook" / "guestbook.yaml")
        .read_text()
        .replace("type: replicated_service.py", "type: replicated_servce.py", 1)
        .replace(
            "- path: replicated_service.py", f"- path: {TEMPLATE}\n  name: replicated_service.py"
        )
    )
    result = run_dm(stack.manager, "deploy", str(config), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {config}: resource 'frontend': no import named replicated_servce.py; "
        "did you mean replicated_service.py?"
    )
    assert "typo" not in [item["name"] for item in dm_json(stack.manager, "list")]


def test_kept_text_and_set_string_values_reach_the_template(stack, tmp_path):
    template = tmp_path / "values.jinja"
    template.write_text("resources: []\n")
    expansion = dm_json(
        stack.manager,
        "expand",
        str(template),
        "-p",
        "tag=1.10,zip=01234,x=1_000,port=80",
        "-p",
        "y=inf",
        "--set-string",
        "n=5",
    )
    assert expansion["layout"]["resources"][0]["properties"] == {
        "tag": "1.10",
        "zip": "01234",
        "x": "1_000",
        "port": 80,
        "y": "inf",
        "n": "5",
    }


def test_a_peer_that_does_not_speak_http_is_not_a_manager():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}"

        def greet() -> None:
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

        greeter = threading.Thread(target=greet)
        greeter.start()
        result = run_dm(url, "list", check=False)
        greeter.join(timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: {url} is not a DM manager (it does not answer HTTP); "
        "check --service or DM_SERVICE"
    )
