"""Storing, reading, replacing and deleting deployments."""

from __future__ import annotations

import pytest

from dmcommon.errors import Conflict, NotFound
from manager.models import FAILED, State
from tests.manager.repository.builders import deployment, instance, manifest


def test_created_deployment_reads_back_with_a_fingerprint(repo):
    created = repo.create_deployment(deployment("web", errors=["old"]))

    assert created.fingerprint
    assert repo.get_deployment("web") == created
    assert repo.get_deployment("web").state.errors == ["old"]


def test_creating_an_existing_name_conflicts_and_keeps_the_original(repo):
    original = repo.create_deployment(deployment("web"))
    other = deployment("web")
    other.namespace = "elsewhere"

    with pytest.raises(Conflict, match='deployment "web" already exists'):
        repo.create_deployment(other)
    assert repo.get_deployment("web") == original


def test_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.get_deployment("ghost")


def test_listings_are_sorted_by_name(repo):
    for name in ("b", "c", "a"):
        repo.create_deployment(deployment(name))

    assert repo.list_deployment_names() == ["a", "b", "c"]
    assert [item.name for item in repo.list_deployments()] == ["a", "b", "c"]


def test_save_replaces_the_record_and_changes_the_fingerprint(repo):
    created = repo.create_deployment(deployment("web"))
    created.state = State(FAILED, ["boom"])
    created.latest_manifest = "manifest-1"

    saved = repo.save_deployment(created, expected_fingerprint=created.fingerprint)

    assert saved.fingerprint != created.fingerprint
    stored = repo.get_deployment("web")
    assert stored == saved
    assert stored.state == State(FAILED, ["boom"])
    assert stored.latest_manifest == "manifest-1"


def test_save_with_a_stale_fingerprint_conflicts_and_stores_nothing(repo):
    created = repo.create_deployment(deployment("web"))
    current = repo.save_deployment(created)
    created.state = State(FAILED, ["late"])

    with pytest.raises(Conflict, match=f'fingerprint "{created.fingerprint}" is stale'):
        repo.save_deployment(created, expected_fingerprint=created.fingerprint)
    assert repo.get_deployment("web") == current


def test_saving_a_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.save_deployment(deployment("ghost"))
    assert repo.list_deployment_names() == []


def test_delete_removes_the_deployment_its_manifests_and_type_instances(repo):
    repo.create_deployment(deployment("web"))
    repo.create_deployment(deployment("db"))
    repo.add_manifest(manifest("web"))
    repo.set_type_instances("web", [instance("site.py", "front", "web")])
    repo.set_type_instances("db", [instance("site.py", "back", "db")])

    repo.delete_deployment("web")

    assert repo.list_deployment_names() == ["db"]
    with pytest.raises(NotFound):
        repo.list_manifest_names("web")
    assert [item.deployment for item in repo.list_type_instances("all")] == ["db"]


def test_deleting_a_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.delete_deployment("ghost")
