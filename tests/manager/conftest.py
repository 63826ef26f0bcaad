"""Fixtures of the manager's tests: in-process stand-ins for the expander and resourcifier,
and the manager app over a real SQLite repository."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
import yaml

from dmcommon.errors import BadGateway, BadRequest
from manager.actions import Services
from manager.app import create_app
from manager.repository import open_repository

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
    """A cluster in a dict. `reject` names resources the cluster refuses."""

    def __init__(self):
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.applied: list[list[str]] = []
        self.deleted: list[list[str]] = []
        self.reject: set[str] = set()
        self.down = False

    def _key(self, obj: dict[str, Any], namespace: str) -> tuple[str, str, str]:
        metadata = obj["metadata"]
        scoped = "" if obj["kind"] == "Namespace" else metadata.get("namespace") or namespace
        return obj["kind"], scoped, metadata["name"]

    def apply(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        if self.down:
            raise BadGateway("cannot reach the resourcifier at http://r: connection refused")
        self.applied.append([item["name"] for item in resources])
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
            results.append({**item, "state": {"status": "Created", "errors": []}, "live": live})
        return results

    def delete(self, resources: list[dict[str, Any]], namespace: str) -> list[dict[str, Any]]:
        if self.down:
            raise BadGateway("cannot reach the resourcifier at http://r: connection refused")
        self.deleted.append([item["name"] for item in resources])
        for item in resources:
            self.objects.pop(self._key(item["properties"], namespace), None)
        return [{**item, "state": {"status": "Deleted", "errors": []}} for item in resources]

    def get(self, kind: str, name: str, namespace: str | None) -> dict[str, Any] | None:
        if self.down:
            raise BadGateway("cannot reach the resourcifier")
        scoped = "" if kind == "Namespace" else namespace or ""
        return self.objects.get((kind, scoped, name))

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
    )
    yield services
    repository.close()


@pytest.fixture
def client(fakes):
    app = create_app(
        {"DATA_DIR": "unused", "EXPANDER_URL": "http://x", "RESOURCIFIER_URL": "http://y"},
        services=fakes,
    )
    return app.test_client()
