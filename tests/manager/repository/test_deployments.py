"""Reading, listing, replacing and deleting deployments."""

from __future__ import annotations

import pytest

from dmcommon.errors import Conflict, NotFound
from manager.models import DELETE, FAILED, Health, State
from tests.manager.repository.builders import created, end, instance, manifest, operation


def test_created_deployment_reads_back_with_a_fingerprint(repo):
    stored = created(repo, "web")

    assert stored.fingerprint
    assert repo.get_deployment("web") == stored


def test_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.get_deployment("ghost")


def test_listings_are_sorted_by_name(repo):
    for name in ("b", "c", "a"):
        created(repo, name)

    assert repo.list_deployment_names() == ["a", "b", "c"]
    assert [item.name for item in repo.list_deployments()] == ["a", "b", "c"]


def test_a_page_of_names_starts_after_the_given_name(repo):
    for name in ("a", "b", "c", "d", "e"):
        created(repo, name)

    assert repo.list_deployment_names(limit=2) == ["a", "b"]
    assert repo.list_deployment_names(limit=2, after="b") == ["c", "d"]
    assert repo.list_deployment_names(limit=2, after="d") == ["e"]
    assert repo.list_deployment_names(limit=2, after="e") == []


def test_a_page_of_deployments_starts_after_the_given_name(repo):
    for name in ("a", "b", "c"):
        created(repo, name)

    page = repo.list_deployments(limit=1, after="a")

    assert page == [repo.get_deployment("b")]


def test_save_replaces_the_record_and_changes_the_fingerprint(repo):
    stored = created(repo, "web")
    stored.state = State(FAILED, ["boom"])
    stored.latest_manifest = "manifest-1"
    stored.health = Health("Degraded", "1 of 2 ready")
    stored.sync = "OutOfSync"
    stored.revision = 3

    saved = repo.save_deployment(stored, expected_fingerprint=stored.fingerprint)

    assert saved.fingerprint != stored.fingerprint
    assert repo.get_deployment("web") == saved
    assert repo.get_deployment("web").health == Health("Degraded", "1 of 2 ready")


def test_save_with_a_stale_fingerprint_conflicts_and_stores_nothing(repo):
    stale = created(repo, "web")
    current = repo.save_deployment(stale)
    stale.state = State(FAILED, ["late"])

    with pytest.raises(
        Conflict,
        match=f'^deployment "web" has changed: fingerprint "{stale.fingerprint}" is stale '
        f'\\(current "{current.fingerprint}"\\)$',
    ):
        repo.save_deployment(stale, expected_fingerprint=stale.fingerprint)
    assert repo.get_deployment("web") == current


def test_saving_a_missing_deployment_is_not_found(repo):
    ghost = created(repo, "ghost")
    repo.delete_deployment("ghost")

    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.save_deployment(ghost)
    assert repo.list_deployment_names() == []


def test_delete_removes_the_deployment_its_manifests_and_type_instances(repo):
    created(repo, "web", manifest("web"))
    created(repo, "db")
    repo.set_type_instances("web", [instance("site.py", "front", "web")])
    repo.set_type_instances("db", [instance("site.py", "back", "db")])

    repo.delete_deployment("web")

    assert repo.list_deployment_names() == ["db"]
    with pytest.raises(NotFound, match='^deployment "web" not found$'):
        repo.list_manifests("web")
    assert [item.deployment for item in repo.list_type_instances("all")] == ["db"]


def test_operations_stay_readable_after_their_deployment_is_deleted(repo):
    created(repo, "web")
    deleting = operation("web", DELETE)
    repo.start_operation(deleting, repo.get_deployment("web"))
    end(repo, deleting)

    repo.delete_deployment("web")

    assert repo.get_operation(deleting.id) == deleting
    assert [item.type for item in repo.list_operations("web")] == [DELETE, "create"]


def test_deleting_a_missing_deployment_is_not_found(repo):
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.delete_deployment("ghost")
