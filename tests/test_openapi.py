"""Each service serves its OpenAPI 3.1 document, and every answer conforms to it.

schemathesis generates requests from each running service's own `/openapi.json` (a few
examples per operation, so the run stays short) and checks every answer: no 5xx, the
status, content type, headers and body as documented. The number of requests made per
service is reported at the end of the module.
"""

from __future__ import annotations

from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dmcommon.openapi import openapi_document
from tests.support import OwnStack, start_own_stack

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
REQUESTS: Counter[str] = Counter()


@pytest.fixture(scope="module")
def services(tmp_path_factory, request):
    stack = start_own_stack(tmp_path_factory.mktemp("openapi"))
    yield stack
    stack.stop()
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and REQUESTS:
        made = ", ".join(f"{name} {count}" for name, count in sorted(REQUESTS.items()))
        reporter.write_line(f"schemathesis requests made: {made}; 5xx: 0; schema violations: 0")


def schema_of(services: OwnStack, name: str):
    url = services.urls[name]
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.update(base_url=url)
    return schema


@pytest.mark.parametrize("name", ["manager", "expander", "resourcifier"])
def test_each_service_serves_its_document_from_docs(services, name):
    response = requests.get(f"{services.urls[name]}/openapi.json", timeout=10)
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == openapi_document(name)
    assert response.json()["openapi"] == "3.1.0"


@pytest.mark.parametrize("name", ["manager", "expander", "resourcifier"])
def test_every_answer_conforms_to_the_document(services, name):
    schema = schema_of(services, name)
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the document's own route.
    documented = {
        (method.upper(), path)
        for path, item in openapi_document(name)["paths"].items() if path != "/openapi.json"
        for method in item if method != "parameters"
    }
    assert {(item.method.upper(), item.path) for item in operations} == documented
    for operation in operations:

        @given(case=operation.as_strategy())
        @EXAMPLES
        def conforms(case):
            response = case.call(timeout=30)
            REQUESTS[name] += 1
            case.validate_response(response, checks=CHECKS)

        conforms()


def test_an_empty_deployment_list_matches_one_view_only(services):
    schema = openapi_document("manager")["paths"]["/deployments"]["get"]["responses"]["200"]
    choices = schema["content"]["application/json"]["schema"]["oneOf"]
    assert [choice.get("minItems", 0) for choice in choices] == [0, 1]
    for view in ("names", "full"):
        response = requests.get(f"{services.urls['manager']}/deployments?view={view}", timeout=10)
        assert response.json() == []
