"""The manager serves the web UI's static files at /ui/, without asking for the API token."""

from __future__ import annotations

import pytest

from manager.app import create_app

TOKEN = "s3cret-token"


@pytest.fixture
def guarded(fakes):
    """A manager that requires an API token."""
    app = create_app(
        {
            "DATA_DIR": "unused",
            "EXPANDER_URL": "http://x",
            "RESOURCIFIER_URL": "http://y",
            "API_TOKEN": TOKEN,
        },
        services=fakes,
    )
    return app.test_client()


def test_ui_without_its_slash_redirects_to_the_page(client):
    response = client.get("/ui")
    assert response.status_code == 301
    assert response.headers["Location"] == "/ui/"


def test_the_page_is_the_ui_index(client):
    response = client.get("/ui/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert b'<script type="module" src="app.js"></script>' in response.data


@pytest.mark.parametrize("name", ["app.js", "api.js", "pages/deployment.js"])
def test_modules_are_served_as_javascript(client, name):
    response = client.get(f"/ui/{name}")
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")


def test_the_page_asks_browsers_to_check_for_a_newer_copy(client):
    assert client.get("/ui/style.css").headers["Cache-Control"] == "no-cache"


def test_a_missing_file_is_a_json_404(client):
    response = client.get("/ui/nothing.js")
    assert response.status_code == 404
    assert response.get_json()["status"] == 404


def test_files_outside_the_ui_folder_are_not_served(client):
    response = client.get("/ui/../routes.py")
    assert response.status_code == 404
    assert client.get("/ui/%2e%2e/routes.py").status_code == 404


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/app.js", "/ui/pages/operation.js"])
def test_the_ui_files_need_no_token(guarded, path):
    assert guarded.get(path).status_code in (200, 301)


def test_the_api_still_needs_the_token_beside_the_ui(guarded):
    response = guarded.get("/deployments")
    assert response.status_code == 401
    assert response.get_json() == {
        "status": 401,
        "message": "missing bearer token: send 'Authorization: Bearer <token>'",
    }
    authorized = guarded.get("/deployments", headers={"Authorization": f"Bearer {TOKEN}"})
    assert authorized.status_code == 200


def test_only_paths_under_the_ui_folder_are_open(guarded):
    assert guarded.get("/uix").status_code == 401
