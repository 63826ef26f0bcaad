"""Manifests: stored per deployment, listed oldest first, replaced in place."""

from __future__ import annotations

import pytest

from dmcommon.errors import Conflict, NotFound
from manager.models import CREATED, State
from manager.repository import new_manifest_name
from tests.manager.repository.builders import deployment, manifest


def test_manifest_reads_back_whole(repo):
    repo.create_deployment(deployment("web"))
    stored = manifest("web", content="resources:\n- {name: a, type: ConfigMap}\n")
    repo.add_manifest(stored)

    assert repo.get_manifest("web", stored.name) == stored


def test_manifests_list_oldest_first_and_names_sort_the_same_way(repo):
    repo.create_deployment(deployment("web"))
    added = [manifest("web") for _ in range(5)]
    for item in added:
        repo.add_manifest(item)

    names = repo.list_manifest_names("web")
    assert names == [item.name for item in added]
    assert names == sorted(names)


def test_deployment_without_manifests_lists_none(repo):
    repo.create_deployment(deployment("web"))
    assert repo.list_manifest_names("web") == []


def test_manifests_of_a_missing_deployment_are_not_found(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.list_manifest_names("ghost")
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.get_manifest("ghost", "manifest-1")


def test_adding_a_manifest_to_a_missing_deployment_is_not_found_and_stores_nothing(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.add_manifest(manifest("ghost"))
    repo.create_deployment(deployment("ghost"))
    assert repo.list_manifest_names("ghost") == []


def test_missing_manifest_is_not_found(repo):
    repo.create_deployment(deployment("web"))
    with pytest.raises(NotFound, match='manifest "manifest-x" of deployment "web" not found'):
        repo.get_manifest("web", "manifest-x")


def test_duplicate_manifest_name_conflicts_and_keeps_the_first(repo):
    repo.create_deployment(deployment("web"))
    first = manifest("web", content="first")
    repo.add_manifest(first)
    second = manifest("web", content="second")
    second.name = first.name

    with pytest.raises(Conflict, match=f'manifest "{first.name}" of deployment "web" already'):
        repo.add_manifest(second)
    assert repo.get_manifest("web", first.name) == first


def test_same_manifest_name_may_exist_in_two_deployments(repo):
    repo.create_deployment(deployment("web"))
    repo.create_deployment(deployment("db"))
    shared = manifest("web")
    repo.add_manifest(shared)
    shared.deployment = "db"
    repo.add_manifest(shared)

    assert repo.list_manifest_names("db") == [shared.name]


def test_save_manifest_records_resource_states(repo):
    repo.create_deployment(deployment("web"))
    stored = manifest("web")
    repo.add_manifest(stored)
    stored.expanded_config["resources"][0]["state"] = State(CREATED).to_dict()

    repo.save_manifest(stored)

    loaded = repo.get_manifest("web", stored.name)
    assert loaded == stored
    assert loaded.expanded_config["resources"][0]["state"] == {"status": CREATED, "errors": []}
    assert repo.list_manifest_names("web") == [stored.name]


def test_saving_a_missing_manifest_is_not_found(repo):
    repo.create_deployment(deployment("web"))
    with pytest.raises(NotFound, match='manifest "manifest-x" of deployment "web" not found'):
        missing = manifest("web")
        missing.name = "manifest-x"
        repo.save_manifest(missing)
    assert repo.list_manifest_names("web") == []


def test_manifests_of_several_megabytes_round_trip(repo):
    repo.create_deployment(deployment("web"))
    big = manifest("web", content="# " + "x" * (6 * 1024 * 1024))
    big.expanded_config["resources"][0]["properties"]["data"] = {"blob": "y" * (3 * 1024 * 1024)}
    repo.add_manifest(big)

    assert repo.get_manifest("web", big.name) == big


def test_new_manifest_names_are_unique_and_increasing():
    names = [new_manifest_name() for _ in range(2000)]
    assert names == sorted(set(names))
    assert names[0].startswith("manifest-")
