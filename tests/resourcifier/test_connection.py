"""Connection settings and failures: unreachable cluster, timeouts, tokens, readiness, auth."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from resourcifier.app import create_app
from tests.resourcifier.conftest import config_map, post
from tests.support import free_port, start_service

SECRET = "s3cr3t-token-value"


def _script(directory: Path, body: str) -> Path:
    script = directory / "kubectl"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory):
    """A resourcifier pointed at a port where no API server listens."""
    workdir = tmp_path_factory.mktemp("unreachable")
    empty = workdir / "empty.kubeconfig"
    empty.write_text("")
    process, url = start_service("resourcifier", workdir, [
        "--kubeconfig", str(empty), "--server", f"http://127.0.0.1:{free_port()}",
        "--token", SECRET, "--kubectl-timeout", "20",
    ])
    yield url
    process.stop()


def test_unreachable_cluster_is_502_with_kubectls_reason(unreachable):
    response = post(unreachable, {"resources": [config_map("a", "default")]})
    assert response.status_code == 502
    assert "refused" in response.json()["message"]
    assert SECRET not in response.text


def test_unreachable_cluster_is_502_on_delete(unreachable):
    response = post(unreachable, {"resources": [config_map("a", "default")]}, method="DELETE")
    assert response.status_code == 502
    assert "refused" in response.json()["message"]


@pytest.mark.parametrize("path, params", [
    ("/configurations/status", {}),
    ("/configurations", {"dryRun": "true", "diff": "true"}),
])
def test_unreachable_cluster_is_502_on_status_and_previews(unreachable, path, params):
    response = requests.post(f"{unreachable}{path}", params=params, timeout=60,
                             json={"resources": [config_map("a", "default")]})
    assert response.status_code == 502
    assert "refused" in response.json()["message"]
    assert SECRET not in response.text


@pytest.mark.parametrize("path", ["configmaps", "configmaps/a"])
def test_unreachable_cluster_is_502_on_reads(unreachable, path):
    response = requests.get(f"{unreachable}/configurations/{path}", timeout=30)
    assert response.status_code == 502
    assert "refused" in response.json()["message"]


def test_readyz_is_503_when_the_cluster_does_not_answer(unreachable):
    response = requests.get(f"{unreachable}/readyz", timeout=30)
    assert response.status_code == 503
    assert response.json()["message"].startswith("the cluster does not answer: ")
    assert SECRET not in response.text


def test_readyz_is_200_when_the_cluster_answers(resourcifier_url):
    response = requests.get(f"{resourcifier_url}/readyz", timeout=30)
    assert (response.status_code, response.text) == (200, "ok")


def test_token_never_appears_in_an_answer(tmp_path, simulator):
    """kubectl's error text is scrubbed even when it repeats its own arguments."""
    script = _script(tmp_path, 'echo "failed with $*" >&2\nexit 1')
    process, url = start_service("resourcifier", tmp_path, [
        "--kubectl", str(script), "--token", SECRET, "--server", simulator.url,
    ])
    try:
        response = post(url, {"resources": [config_map("a", "default")]})
        assert response.status_code == 502
        assert "--token <token>" in response.json()["message"]
        assert SECRET not in response.text
        assert SECRET not in process.log()
    finally:
        process.stop()


def test_slow_kubectl_is_504_within_the_timeout(tmp_path, simulator):
    script = _script(tmp_path, 'sleep 30\nexec kubectl "$@"')
    process, url = start_service("resourcifier", tmp_path, [
        "--kubectl", str(script), "--kubeconfig", str(simulator.kubeconfig),
        "--kubectl-timeout", "1",
    ])
    try:
        # kubectl would sleep 30 s: the answer says the 1 s limit stopped it.
        response = requests.get(f"{url}/configurations/configmaps", timeout=25)
        assert response.status_code == 504
        assert response.json()["message"] == "kubectl get did not finish within 1 seconds"
    finally:
        process.stop()


def test_internal_token_guards_the_api_but_not_the_probes(tmp_path, simulator):
    process, url = start_service(
        "resourcifier", tmp_path, ["--kubeconfig", str(simulator.kubeconfig)],
        env={"DM_INTERNAL_TOKEN": "internal"},
    )
    try:
        def status(path: str, token: str | None = None) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return requests.get(f"{url}{path}", headers=headers, timeout=30).status_code

        assert status("/configurations/configmaps") == 401
        assert status("/configurations/configmaps", "nope") == 403
        assert status("/configurations/configmaps", "internal") == 200
        assert status("/readyz") == 200
        assert status("/healthz") == 200
    finally:
        process.stop()


def test_unknown_backend_is_a_start_up_error():
    with pytest.raises(ValueError, match="unknown backend 'podman'; choose 'kubectl' or 'docker'"):
        create_app({"BACKEND": "podman"})


def test_missing_kubectl_is_a_start_up_error(tmp_path):
    with pytest.raises(ValueError, match="kubectl not found"):
        create_app({"KUBECTL": str(tmp_path / "kubectl")})
