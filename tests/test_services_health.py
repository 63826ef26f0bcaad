"""Each service starts under gunicorn and answers its liveness probe."""

import requests


def test_expander_answers_healthz(expander_url):
    assert requests.get(f"{expander_url}/healthz", timeout=5).text == "ok"


def test_unknown_route_is_a_json_404(expander_url):
    response = requests.get(f"{expander_url}/no-such-route", timeout=5)
    assert response.status_code == 404
    assert response.json()["status"] == 404
