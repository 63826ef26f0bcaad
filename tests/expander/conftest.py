"""Fixtures for the expander's tests: an in-process app and a gunicorn-served process."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from expander.app import create_app
from tests.support import start_service

# Tight limits keep the tests of runaway templates fast.
LIMITS = {
    "EXPANSION_TIMEOUT": 3,
    "EXPANSION_CPU_SECONDS": 2,
    "EXPANSION_MEMORY_MB": 256,
    "MAX_OUTPUT_BYTES": 1024 * 1024,
    "MAX_EXPANSION_DEPTH": 8,
}
SECRET = "s3cret-internal-token-value"


def body(
    content: str,
    imports: dict[str, str] | None = None,
    env: dict[str, Any] | None = None,
    name: str = "demo",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `POST /expand` body: `imports` maps an import's name (and path) to its text."""
    template = {
        "name": name,
        "content": content,
        "imports": [{"name": k, "path": k, "content": v} for k, v in (imports or {}).items()],
    }
    if options is not None:
        template["options"] = options
    return {
        "template": template,
        "env": env if env is not None else {"deployment": name, "project": "proj"},
    }


class Expand:
    """Calls `POST /expand` on the in-process app."""

    def __init__(self, client):
        self.client = client

    def __call__(self, content: str, imports: dict[str, str] | None = None, **kwargs):
        return self.client.post("/expand", json=body(content, imports, **kwargs))

    def ok(self, content: str, imports: dict[str, str] | None = None, **kwargs) -> dict:
        response = self(content, imports, **kwargs)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def error(self, content: str, imports: dict[str, str] | None = None, **kwargs) -> str:
        response = self(content, imports, **kwargs)
        assert response.status_code == 400, response.get_json()
        payload = response.get_json()
        assert payload["status"] == 400
        assert set(payload) == {"status", "message"}
        return payload["message"]


@pytest.fixture(scope="session")
def app():
    app = create_app(LIMITS)
    yield app
    app.extensions["expander"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def expand(client) -> Expand:
    return Expand(client)


class Remote:
    """Calls a gunicorn-served expander that requires the internal token."""

    def __init__(self, url: str):
        self.url = url

    def post(self, content: str, imports: dict[str, str] | None = None, **kwargs):
        return requests.post(
            f"{self.url}/expand",
            json=body(content, imports, **kwargs),
            headers={"Authorization": f"Bearer {SECRET}"},
            timeout=30,
        )

    def serves(self) -> bool:
        """The service still expands a trivial configuration."""
        response = self.post("resources:\n- {name: a, type: ConfigMap}\n")
        return response.status_code == 200 and response.json()["config"]["resources"] == [
            {"name": "a", "type": "ConfigMap"}
        ]


@pytest.fixture(scope="session")
def confined(tmp_path_factory) -> Remote:
    """dm-expander under gunicorn with tight limits and a secret in its environment."""
    process, url = start_service(
        "expander",
        tmp_path_factory.mktemp("confined-expander"),
        [
            "--expansion-timeout", "3",
            "--expansion-cpu-seconds", "2",
            "--expansion-memory-mb", "256",
            "--max-output-bytes", str(1024 * 1024),
        ],
        env={"DM_INTERNAL_TOKEN": SECRET},
    )
    yield Remote(url)
    process.stop()
