"""Manifests: stored with the operation that rolls them out, read by name or revision."""

from __future__ import annotations

import pytest

from dmcommon.errors import Conflict, NotFound
from manager.models import (
    CREATED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    UPDATE,
    Health,
    ResourceState,
)
from manager.repository import new_manifest_name
from tests.manager.repository.builders import created, end, manifest, operation


def _add(repo, name: str = "web", revision: int = 2, content: str = "resources: []"):
    """Roll a new manifest of stored deployment `name` out by an update (left running)."""
    added = manifest(name, revision, content)
    updating = operation(name, UPDATE, manifest_name=added.name)
    repo.start_operation(updating, repo.get_deployment(name), added)
    return added, updating


def test_manifest_reads_back_whole_by_name(repo):
    first = manifest("web", content="resources:\n- {name: a, type: ConfigMap}\n")
    first.warnings = ["a warning"]
    first.levels = [[0]]
    first.settled = True
    created(repo, "web", first)

    assert repo.get_manifest("web", first.name) == first


def test_manifest_reads_back_by_revision(repo):
    first = manifest("web", 1)
    created(repo, "web", first)
    second, _ = _add(repo, "web", 2)

    assert repo.get_manifest("web", "1") == first
    assert repo.get_manifest("web", "2") == second


def test_a_missing_revision_is_not_found(repo):
    created(repo, "web", manifest("web", 1))

    with pytest.raises(NotFound, match='^manifest "7" of deployment "web" not found$'):
        repo.get_manifest("web", "7")


def test_manifests_list_oldest_first_with_their_revision_and_operation_status(repo):
    first = manifest("web", 1)
    created(repo, "web", first)
    second, updating = _add(repo, "web", 2)

    assert repo.list_manifests("web") == [
        {
            "name": first.name,
            "revision": 1,
            "createdAt": first.created_at,
            "operation": repo.list_operations("web")[1].id,
            "status": SUCCEEDED,
        },
        {
            "name": second.name,
            "revision": 2,
            "createdAt": second.created_at,
            "operation": updating.id,
            "status": RUNNING,
        },
    ]


def test_a_summary_follows_its_operation_s_status(repo):
    created(repo, "web", manifest("web", 1))
    _, updating = _add(repo)

    end(repo, updating, FAILED)

    assert [item["status"] for item in repo.list_manifests("web")] == [SUCCEEDED, FAILED]


def test_manifest_names_list_oldest_first_and_sort_the_same_way(repo):
    created(repo, "web", manifest("web", 1))
    added = []
    for revision in range(2, 6):
        item, updating = _add(repo, "web", revision)
        end(repo, updating)
        added.append(item.name)

    names = repo.list_manifest_names("web")

    assert names[1:] == added
    assert names == sorted(names)


def test_deployment_without_manifests_lists_none(repo):
    created(repo, "web")

    assert repo.list_manifests("web") == []
    assert repo.list_manifest_names("web") == []


def test_manifests_of_a_missing_deployment_are_not_found(repo):
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.list_manifests("ghost")
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.list_manifest_names("ghost")
    with pytest.raises(NotFound, match='^deployment "ghost" not found$'):
        repo.get_manifest("ghost", "manifest-1")


def test_missing_manifest_is_not_found(repo):
    created(repo, "web")

    with pytest.raises(NotFound, match='^manifest "manifest-x" of deployment "web" not found$'):
        repo.get_manifest("web", "manifest-x")


def test_a_duplicate_manifest_name_conflicts_and_starts_nothing(repo):
    first = manifest("web", 1, content="first")
    created(repo, "web", first)
    second = manifest("web", 2, content="second")
    second.name = first.name
    updating = operation("web", UPDATE, manifest_name=second.name)
    before = repo.get_deployment("web")

    with pytest.raises(
        Conflict, match=f'^manifest "{first.name}" of deployment "web" already exists$'
    ):
        repo.start_operation(updating, repo.get_deployment("web"), second)
    assert repo.get_manifest("web", first.name) == first
    assert repo.get_deployment("web") == before
    with pytest.raises(NotFound):
        repo.get_operation(updating.id)


def test_same_manifest_name_may_exist_in_two_deployments(repo):
    shared = manifest("web")
    created(repo, "web", shared)
    again = manifest("db")
    again.name = shared.name
    created(repo, "db", again)

    assert repo.list_manifest_names("db") == [shared.name]


def test_save_manifest_records_resource_states(repo):
    stored = manifest("web")
    created(repo, "web", stored)
    stored.resources[0].state = ResourceState(CREATED, health=Health("Healthy"))
    stored.settled = True

    repo.save_manifest(stored)

    loaded = repo.get_manifest("web", stored.name)
    assert loaded == stored
    assert loaded.resources[0].status == CREATED
    assert repo.list_manifest_names("web") == [stored.name]


def test_saving_a_manifest_records_its_resources_and_leaves_what_never_changes(repo):
    stored = manifest("web")
    created(repo, "web", stored)
    stored.resources[0].state = ResourceState(CREATED)
    stored.layout = {"resources": []}
    stored.warnings = ["not stored"]

    repo.save_manifest(stored)

    loaded = repo.get_manifest("web", stored.name)
    assert loaded.resources[0].status == CREATED
    assert loaded.layout == {"resources": [{"name": "cm", "type": "ConfigMap"}]}
    assert loaded.warnings == []


def test_saving_a_missing_manifest_is_not_found_and_stores_nothing(repo):
    created(repo, "web")
    missing = manifest("web")
    missing.name = "manifest-x"

    with pytest.raises(NotFound, match='^manifest "manifest-x" of deployment "web" not found$'):
        repo.save_manifest(missing)
    assert repo.list_manifest_names("web") == []


def test_manifests_of_several_megabytes_round_trip(repo):
    big = manifest("web", content="# " + "x" * (6 * 1024 * 1024))
    big.resources[0].properties["data"] = {"blob": "y" * (3 * 1024 * 1024)}
    created(repo, "web", big)

    assert repo.get_manifest("web", big.name) == big


def test_new_manifest_names_are_unique_and_increasing():
    names = [new_manifest_name() for _ in range(2000)]
    assert names == sorted(set(names))
    assert names[0].startswith("manifest-")
