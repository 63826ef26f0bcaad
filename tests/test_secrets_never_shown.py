"""Secret values are applied but shown nowhere: not in API answers, CLI output, errors or logs.

One stack of real processes (simulator, expander, resourcifier, manager) of this module's
own, so that every line the services log can be read afterwards.
"""

from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
import requests

from dmcommon.redact import marker
from tests.dmcli.runner import run_dm
from tests.support import kubectl, start_own_stack

PASSWORD = "S3cr3t-p4ssw0rd-" + uuid.uuid4().hex[:8]
API_KEY = "api-key-" + uuid.uuid4().hex[:12]
TOKEN = "t0ken-" + uuid.uuid4().hex[:12]
SECRETS = (PASSWORD, API_KEY, TOKEN, base64.b64encode(TOKEN.encode()).decode())

DB_TEMPLATE = """\
resources:
- name: {{ env['name'] }}-creds
  type: Secret
  properties:
    apiVersion: v1
    kind: Secret
    metadata: {name: {{ env['name'] }}-creds}
    stringData:
      password: {{ properties['password'] }}
- name: {{ env['name'] }}-settings
  type: ConfigMap
  properties:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: {{ env['name'] }}-settings}
    data:
      url: "postgres://app:{{ properties['password'] }}@db:5432/app"
      user: {{ properties['user'] }}
"""
DB_SCHEMA = """\
properties:
  user: {type: string, default: app}
  password: {type: string, sensitive: true}
required: [password]
"""


LEAKY_TEMPLATE = """\
resources:
- name: leaky
  type: ConfigMap
  properties:
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: leaky}
    data:
      token: {{ properties['token'] | tojson }}
"""
LEAKY_SCHEMA = "properties:\n  token: {sensitive: true}\n"


def template(name: str, password=PASSWORD, extra: str = "") -> dict:
    content = f"""\
resources:
- name: db
  type: db.jinja
  properties:
    password: {json.dumps(password)}
- name: api
  type: Secret
  properties:
    apiVersion: v1
    kind: Secret
    metadata: {{name: api}}
    stringData:
      key: {API_KEY}
    data:
      token: {base64.b64encode(TOKEN.encode()).decode()}
{extra}"""
    return {
        "name": name,
        "content": content,
        "imports": [
            {"name": "db.jinja", "content": DB_TEMPLATE},
            {"name": "db.jinja.schema", "content": DB_SCHEMA},
            {"name": "leaky.jinja", "content": LEAKY_TEMPLATE},
            {"name": "leaky.jinja.schema", "content": LEAKY_SCHEMA},
        ],
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_own_stack(tmp_path_factory.mktemp("secrets"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def deployed(stack) -> str:
    namespace = "secrets-" + uuid.uuid4().hex[:6]
    body = {**template("vault"), "namespace": namespace}
    response = requests.post(f"{stack.manager}/deployments?wait=true", json=body, timeout=120)
    assert response.status_code == 201, response.text
    assert response.json()["state"]["status"] == "Deployed"
    return namespace


def assert_hidden(text: str) -> None:
    for value in SECRETS:
        assert value not in text


def live_value(stack, namespace: str, name: str, key: str) -> str:
    found = kubectl(stack.kubeconfig, "-n", namespace, "get", "secret", name, "-o", "json")
    return base64.b64decode(json.loads(found.stdout)["data"][key]).decode()


def test_the_values_are_applied(stack, deployed):
    assert live_value(stack, deployed, "db-creds", "password") == PASSWORD
    assert live_value(stack, deployed, "api", "key") == API_KEY
    assert live_value(stack, deployed, "api", "token") == TOKEN
    found = kubectl(stack.kubeconfig, "-n", deployed, "get", "configmap", "db-settings", "-o",
                    "json")
    assert PASSWORD in json.loads(found.stdout)["data"]["url"]


def test_the_manifest_shows_markers_in_place_of_every_value(stack, deployed):
    deployment = requests.get(f"{stack.manager}/deployments/vault", timeout=10).json()
    url = f"{stack.manager}/deployments/vault/manifests/{deployment['latestManifest']}"
    manifest = requests.get(url, timeout=10).json()

    assert_hidden(json.dumps(manifest))
    expanded = manifest["expandedConfig"]["resources"]
    resources = {item["name"]: item["properties"] for item in expanded}
    assert resources["db-creds"]["stringData"] == {"password": marker(PASSWORD)}
    assert resources["api"]["data"] == {"token": marker(base64.b64encode(TOKEN.encode()).decode())}
    assert resources["db-settings"]["data"]["url"] == f"postgres://app:{marker(PASSWORD)}@db:5432/app"
    assert resources["db-settings"]["data"]["user"] == "app"
    db = manifest["layout"]["resources"][0]
    assert db["properties"] == {"password": marker(PASSWORD), "user": "app"}
    assert db["sensitive"] == [["password"]]
    assert f"password: {json.dumps(marker(PASSWORD))}" in manifest["inputConfig"]["content"]


def test_other_answers_hold_no_value(stack, deployed):
    base = stack.manager
    answers = [
        requests.get(f"{base}/deployments/vault", timeout=10),
        requests.get(f"{base}/deployments?view=full", timeout=10),
        requests.get(f"{base}/deployments/vault/operations", timeout=10),
        requests.post(f"{base}/expand", json=template("vault"), timeout=30),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert_hidden(answer.text)


def test_the_cli_shows_no_value(stack, deployed, tmp_path):
    config = tmp_path / "vault.yaml"
    body = template("vault")
    (tmp_path / "db.jinja").write_text(DB_TEMPLATE)
    (tmp_path / "db.jinja.schema").write_text(DB_SCHEMA)
    imports = "imports:\n- path: db.jinja\nresources:\n"
    config.write_text(body["content"].replace("resources:\n", imports, 1))
    outputs = [
        run_dm(stack.manager, "manifest", "vault").stdout,
        run_dm(stack.manager, "-o", "json", "manifest", "vault").stdout,
        run_dm(stack.manager, "expand", str(config)).stdout,
        run_dm(stack.manager, "-o", "json", "expand", str(config)).stdout,
        run_dm(stack.manager, "get", "vault").stdout,
    ]
    for output in outputs:
        assert output.strip()
        assert_hidden(output)


def test_a_schema_violation_does_not_quote_a_sensitive_value(stack):
    body = template("badtype", password=[PASSWORD])
    response = requests.post(f"{stack.manager}/expand", json=body, timeout=30)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "template db.jinja (resource 'db'): properties do not match schema db.jinja.schema: "
        f"properties.password: ['{marker(PASSWORD)}'] is not of type 'string'"
    )


def test_a_cluster_error_does_not_quote_a_secret_value(stack):
    namespace = "rejected-" + uuid.uuid4().hex[:6]
    rejected = """\
- name: broken
  type: Secret
  properties:
    apiVersion: v1
    kind: Secret
    metadata: {name: broken}
    stringData:
      password: {nested: %s}
""" % PASSWORD
    body = {**template("rejected", extra=rejected), "namespace": namespace}
    response = requests.post(f"{stack.manager}/deployments?wait=true", json=body, timeout=120)
    assert response.json()["state"]["status"] == "Failed", response.text
    assert_hidden(response.text)
    deployment = requests.get(f"{stack.manager}/deployments/rejected", timeout=10).json()
    operations = requests.get(f"{stack.manager}/deployments/rejected/operations", timeout=10)
    url = f"{stack.manager}/deployments/rejected/manifests/{deployment['latestManifest']}"
    manifest = requests.get(url, timeout=10).json()
    errors = [
        error
        for item in manifest["expandedConfig"]["resources"] if item["name"] == "broken"
        for error in item["state"]["errors"]
    ]
    assert errors and re.search(r"<redacted sha256:[0-9a-f]{8} len=\d+>", " ".join(errors))
    for text in (json.dumps(deployment), operations.text, json.dumps(manifest)):
        assert_hidden(text)


def test_a_cluster_error_does_not_quote_a_sensitive_value(stack):
    """A sensitive property that ends up in an object the cluster refuses."""
    namespace = "leaky-" + uuid.uuid4().hex[:6]
    leaky = "- name: leak\n  type: leaky.jinja\n  properties:\n    token: {nested: %s}\n" % PASSWORD
    body = {**template("leaky", extra=leaky), "namespace": namespace}
    response = requests.post(f"{stack.manager}/deployments?wait=true", json=body, timeout=120)
    assert response.json()["state"]["status"] == "Failed", response.text
    operations = requests.get(f"{stack.manager}/deployments/leaky/operations", timeout=10)
    errors = operations.json()[0]["errors"]
    assert errors and re.search(r"<redacted sha256:[0-9a-f]{8} len=\d+>", " ".join(errors))
    for text in (response.text, operations.text):
        assert_hidden(text)


def test_no_log_line_holds_a_value(stack, deployed):
    for process in stack.processes[1:]:
        assert_hidden(process.log())
