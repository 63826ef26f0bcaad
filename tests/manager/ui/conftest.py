"""Fixtures of the web UI's browser tests: Debian's chromium driven by selenium, a manager
of the module's own over the session's services, and a place for screenshots."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import requests

from dmcli.bundle import load_template
from tests.dmcli.fixtures import GUESTBOOK
from tests.dmcli.runner import new_namespace
from tests.manager.ui.browser import Browser
from tests.support import start_manager

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "ui"


@pytest.fixture(scope="session")
def chromedriver() -> str:
    """The path of Debian's chromium-driver (scripts/chromium.sh installs it)."""
    path = shutil.which("chromedriver")
    if path is None or shutil.which("chromium") is None:
        problem = "Debian's chromium and chromium-driver are not installed (scripts/chromium.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so the browser tests must run)")
        pytest.skip(problem)
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the tests leave their screenshots (git ignores the folder)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def manager_url(tmp_path_factory, expander_url, resourcifier_url) -> str:
    """A manager of the module's own (its own SQLite) over the session's services."""
    process, url = start_manager(tmp_path_factory.mktemp("manager"), expander_url, resourcifier_url)
    yield url
    process.stop()


@pytest.fixture(scope="module")
def browser(chromedriver, artifacts, manager_url) -> Browser:
    """A headless chromium at 1,280×800 on the module's manager, shared by its tests."""
    browser = Browser(chromedriver, manager_url, artifacts)
    yield browser
    browser.quit()


@pytest.fixture(autouse=True)
def no_script_errors(request):
    """A test that used the browser fails when a page's script raised an error."""
    yield
    if "browser" in request.fixturenames:
        assert request.getfixturevalue("browser").script_errors() == []


def deploy_guestbook(manager_url: str, kubeconfig: Path) -> str:
    """Deploy the guestbook under a new name, in a new namespace, and wait; its name."""
    name = f"guestbook-{uuid.uuid4().hex[:6]}"
    template = load_template(GUESTBOOK, name, new_namespace(kubeconfig, "ui"))
    answer = requests.post(f"{manager_url}/deployments?wait=true", json=template, timeout=120)
    assert answer.status_code == 201, answer.text
    assert answer.json()["state"] == {"status": "Deployed", "errors": []}
    return name


@pytest.fixture
def guestbook(manager_url, simulator) -> str:
    """A guestbook of this test's own, to change; its name."""
    return deploy_guestbook(manager_url, simulator.kubeconfig)


@pytest.fixture(scope="module")
def seen_guestbook(manager_url, simulator) -> str:
    """A guestbook the module's tests only look at, never change; its name."""
    return deploy_guestbook(manager_url, simulator.kubeconfig)
