"""Type instances: replaced per deployment, listed by type or all together."""

from __future__ import annotations

import pytest

from dmcommon.errors import NotFound
from tests.manager.repository.builders import created, instance


def test_instances_of_a_type_list_in_deployment_then_layout_order(repo):
    created(repo, "web")
    created(repo, "api")
    repo.set_type_instances(
        "web", [instance("site.py", "front", "web", 0), instance("site.py", "back", "web", 1)]
    )
    repo.set_type_instances("api", [instance("site.py", "api", "api", 0)])

    listed = repo.list_type_instances("site.py")

    assert [(item.deployment, item.name) for item in listed] == [
        ("api", "api"),
        ("web", "front"),
        ("web", "back"),
    ]
    assert listed[2] == instance("site.py", "back", "web", 1)


def test_setting_instances_replaces_the_previous_ones(repo):
    created(repo, "web")
    repo.set_type_instances("web", [instance("old.jinja", "a")])
    repo.set_type_instances("web", [instance("new.py", "b")])

    assert repo.list_type_instances("old.jinja") == []
    assert [item.name for item in repo.list_type_instances("new.py")] == ["b"]


def test_types_are_sorted_and_distinct(repo):
    created(repo, "web")
    created(repo, "api")
    repo.set_type_instances("web", [instance("z.py", "a"), instance("Service", "b")])
    repo.set_type_instances("api", [instance("a.jinja", "c", "api"), instance("z.py", "d", "api")])

    assert repo.list_types() == ["Service", "a.jinja", "z.py"]


def test_all_lists_every_instance(repo):
    created(repo, "web")
    repo.set_type_instances("web", [instance("b.py", "x"), instance("a.py", "y")])

    assert [(item.type, item.name) for item in repo.list_type_instances("all")] == [
        ("a.py", "y"),
        ("b.py", "x"),
    ]


def test_unknown_type_has_no_instances(repo):
    assert repo.list_type_instances("nothing.py") == []
    assert repo.list_types() == []


def test_instances_of_a_missing_deployment_are_not_found_and_not_stored(repo):
    with pytest.raises(NotFound, match='deployment "ghost" not found'):
        repo.set_type_instances("ghost", [instance("a.py", "x", "ghost")])
    assert repo.list_type_instances("all") == []
