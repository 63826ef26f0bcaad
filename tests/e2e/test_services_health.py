"""Each stateless service starts under gunicorn, answers its liveness probe and errors in JSON."""

import pytest
import requests

SERVICES = ["expander_url", "resourcifier_url"]


@pytest.mark.parametrize("service", SERVICES)
def test_service_answers_healthz(request, service):
    url = request.getfixturevalue(service)
    assert requests.get(f"{url}/healthz", timeout=5).text == "ok"


@pytest.mark.parametrize("service", SERVICES)
def test_unknown_route_is_a_json_404(request, service):
    url = request.getfixturevalue(service)
    response = requests.get(f"{url}/no-such-route", timeout=5)
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"status", "message"}
    assert body["status"] == 404
    assert body["message"]
