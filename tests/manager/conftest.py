"""Fixtures of the manager's tests: in-process stand-ins for the expander and resourcifier,
and the manager app over a real SQLite repository."""

from __future__ import annotations

import copy
import itertools
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import yaml

from dmcommon.errors import BadGateway, BadRequest
from manager.app import create_app
from manager.repository import open_repository
from manager.workflow import InlineRunner, Services
from tests.support import ServiceProcess, manager_flags, start_service

_uids = itertools.count(1)


class FakeExpander:
    """Expands configurations of primitives only: the config is the content's resources."""

    def __init__(self):
        self.calls: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.down = False

    def expand(self, template: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((template, env))
        if self.down:
            raise BadGateway("cannot reach the expander at http://expander: connection refused")
        try:
            config = yaml.safe_load(template["content"])
        except yaml.YAMLError as error:
            raise BadRequest(f"config: invalid YAML: {error}") from None
        if not isinstance(config, dict) or not isinstance(config.get("resources"), list):
            raise BadRequest("config: missing 'resources:'")
        resources = copy.deepcopy(config["resources"])
        layout = [{"name": item["name"], "type": item["type"]} for item in resources]
        return {"config": {"resources": resources}, "layout": {"resources": layout}}

    def check(self) -> None:
        if self.down:
            raise BadGateway("cannot reach the expander")


class FakeResourcifier:
    """A cluster in a dict. `reject` names resources the cluster refuses to apply,
    `undeletable` those it refuses to delete. With `health_on_apply` an apply answers each
    object's health too, as the real resourcifier does."""

    def __init__(self):
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.applied: list[list[str]] = []
        self.deleted: list[list[str]] = []
        self.reject: set[str] = set()
        self.undeletable: set[str] = set()
        self.down = False
        self.answers_live = True
        self.reads: list[tuple[str, str]] = []
        self.unhealthy: dict[str, str] = {}
        self.health_on_apply = False
        self.calls: list[tuple[str, list[str]]] = []

    def _key(self, obj: dict[str, Any], namespace: str) -> tuple[str, str, str]:
        metadata = obj["metadata"]
        scoped = "" if obj["kind"] == "Namespace" else metadata.get("namespace") or namespace
        return obj["kind"], scoped, metadata["name"]

    def apply(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        if self.down:
            raise BadGateway("cannot reach the resourcifier at http://r: connection refused")
        self.applied.append([item["name"] for item in resources])
        self.calls.append(("apply", self.applied[-1]))
        results = []
        for item in resources:
            if item["name"] in self.reject:
                state = {"status": "Failed", "errors": [f"{item['name']} is invalid"]}
                results.append({**item, "state": state})
                continue
            live = copy.deepcopy(item["properties"])
            live["metadata"]["uid"] = f"uid-{next(_uids)}"
            if live["kind"] == "Service":
                live.setdefault("spec", {})["clusterIP"] = "10.0.0.7"
            self.objects[self._key(live, namespace)] = live
            state = {"status": "Created", "errors": []}
            if self.health_on_apply:
                state["health"] = self._health(item["name"], live)
            result = {**item, "state": state}
            results.append({**result, "live": live} if self.answers_live else result)
        return results

    def delete(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        if self.down:
            raise BadGateway("cannot reach the resourcifier at http://r: connection refused")
        self.deleted.append([item["name"] for item in resources])
        results = []
        for item in resources:
            if item["name"] in self.undeletable:
                state = {"status": "Failed", "errors": [f"{item['name']} is protected"]}
                results.append({**item, "state": state})
                continue
            self.objects.pop(self._key(item["properties"], namespace), None)
            results.append({**item, "state": {"status": "Deleted", "errors": []}})
        return results

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        if self.down:
            raise BadGateway("cannot reach the resourcifier")
        self.reads.append((kind, name))
        scoped = "" if kind == "Namespace" else namespace or ""
        return self.objects.get((kind, scoped, name))

    def status(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        """Objects that exist are Healthy unless named in `unhealthy`; absent ones Missing."""
        if self.down:
            raise BadGateway("cannot reach the resourcifier")
        self.calls.append(("status", [item["name"] for item in resources]))
        answers = []
        for item in resources:
            live = self.objects.get(self._key(item["properties"], namespace))
            answers.append({**item, "live": live, "health": self._health(item["name"], live)})
        return answers

    def _health(self, name: str, live: dict[str, Any] | None) -> dict[str, str]:
        if live is None:
            return {"status": "Missing", "message": "not found"}
        if name in self.unhealthy:
            return {"status": "Progressing", "message": self.unhealthy[name]}
        return {"status": "Healthy", "message": ""}

    def dry_run(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        """The live object and what applying would make of it: here, the object itself
        over the live one's uid."""
        if self.down:
            raise BadGateway("cannot reach the resourcifier")
        self.calls.append(("dry_run", [item["name"] for item in resources]))
        answers = []
        for item in resources:
            live = self.objects.get(self._key(item["properties"], namespace))
            after = copy.deepcopy(item["properties"])
            if live is not None:
                after["metadata"]["uid"] = live["metadata"]["uid"]
                if live["kind"] == "Service":
                    after.setdefault("spec", {})["clusterIP"] = live["spec"]["clusterIP"]
            answers.append({**item, "live": live, "dryRun": after})
        return answers

    def check(self) -> None:
        if self.down:
            raise BadGateway("cannot reach the resourcifier")

    def names(self, kind: str) -> set[str]:
        return {name for (k, _, name) in self.objects if k == kind}


@pytest.fixture
def fakes(tmp_path):
    repository = open_repository(None, str(tmp_path / "data"))
    services = Services(
        repository=repository,
        expander=FakeExpander(),
        resourcifier=FakeResourcifier(),
        resolve_types=lambda template: template,
        default_namespace="default",
        poll_interval=0.01,
    )
    services.runner = InlineRunner(services)
    yield services
    repository.close()


@pytest.fixture
def client(fakes):
    app = create_app(
        {"DATA_DIR": "unused", "EXPANDER_URL": "http://x", "RESOURCIFIER_URL": "http://y"},
        services=fakes,
    )
    return app.test_client()


# End-to-end: the manager under gunicorn over the shared expander, resourcifier and simulator.

POSTGRES_URL = os.environ.get("DM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass
class Manager:
    """A running manager process and what it needs to start again on the same database."""

    url: str
    process: ServiceProcess
    flags: list[str]
    workdir: Path
    kubeconfig: Path
    simulator: str

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.url + path, timeout=60, **kwargs)

    def restart(self, env: dict[str, str] | None = None) -> None:
        """Start a new manager process on the same database (after `process.kill()`)."""
        self.process, self.url = start_service("manager", self.workdir, self.flags, env=env)


def _postgres_schema_url(request) -> str:
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        problem = f"PostgreSQL at {POSTGRES_URL} is unreachable: {error}"
        if os.environ.get("CI"):
            pytest.fail(f"{problem} (CI is set, so PostgreSQL tests must run)")
        pytest.skip(problem)
    schema = f"dm_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.close()

    request.addfinalizer(drop)
    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}?options=-csearch_path%3D{schema}"


def start_manager(
    request,
    tmp_path,
    simulator,
    expander_url,
    resourcifier_url,
    database="sqlite",
    flags=(),
    env=None,
) -> Manager:
    all_flags = manager_flags(tmp_path, expander_url, resourcifier_url, *flags)
    if database == "postgresql":
        all_flags += ["--database-url", _postgres_schema_url(request)]
    process, url = start_service("manager", tmp_path, all_flags, env=env)
    manager = Manager(url, process, all_flags, tmp_path, simulator.kubeconfig, simulator.url)
    request.addfinalizer(lambda: manager.process.stop())
    return manager


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def dm(request, tmp_path_factory, simulator, expander_url, resourcifier_url) -> Manager:
    """A manager on a fresh database of the parameter's kind, shared by a module's tests.

    Tests that share it use deployment names and namespaces of their own (`app`,
    `namespace`); tests that need a manager to themselves use `dm_sqlite` or `start_dm`.
    """
    workdir = tmp_path_factory.mktemp("manager")
    return start_manager(request, workdir, simulator, expander_url, resourcifier_url, request.param)


@pytest.fixture
def dm_sqlite(request, tmp_path, simulator, expander_url, resourcifier_url) -> Manager:
    """A fresh manager on its own SQLite file."""
    return start_manager(request, tmp_path, simulator, expander_url, resourcifier_url)


@pytest.fixture
def start_dm(request, tmp_path, simulator):
    """Start a manager on its own SQLite file over the given services (and environment)."""

    def start(expander_url: str, resourcifier_url: str, env: dict[str, str] | None = None):
        return start_manager(request, tmp_path, simulator, expander_url, resourcifier_url, env=env)

    return start
