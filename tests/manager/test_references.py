"""References: finding them, ordering resources into levels, substituting live values."""

import pytest

from dmcommon.errors import BadRequest
from manager.references import (
    MissingValue,
    Reference,
    build_graph,
    find_references,
    lookup,
    parse_path,
    substitute,
)


def resource(name, **properties):
    return {"name": name, "type": "ConfigMap", "properties": properties}


def test_a_path_splits_into_keys_and_indices():
    assert parse_path("spec.ports[0].port") == ["spec", "ports", 0, "port"]
    assert parse_path("items[1][2]") == ["items", 1, 2]


@pytest.mark.parametrize("path", ["spec..name", "spec.", "a[x]", "[0"])
def test_a_malformed_path_is_refused(path):
    with pytest.raises(ValueError):
        parse_path(path)


def test_references_are_found_anywhere_including_inside_longer_strings():
    value = {"a": ["x $(ref.db.metadata.name):$(ref.db.spec.ports[0].port)"], "b": {"c": 1}}
    found = list(find_references(value, {"db"}))
    assert [(ref.name, ref.path) for ref in found] == [
        ("db", "metadata.name"),
        ("db", "spec.ports[0].port"),
    ]


def test_the_longest_known_name_wins_when_names_hold_dots():
    (ref,) = find_references("$(ref.web.v2.metadata.name)", {"web", "web.v2"})
    assert (ref.name, ref.path) == ("web.v2", "metadata.name")


def test_levels_follow_the_references():
    graph = build_graph(
        [
            resource("cm", data={"ip": "$(ref.svc.spec.clusterIP)"}),
            resource("svc"),
            resource("other"),
            resource("top", data={"x": "$(ref.cm.metadata.name)"}),
        ]
    )
    assert graph.levels == [[1, 2], [0], [3]]


def test_an_unknown_name_is_refused_naming_the_resource_and_reference():
    with pytest.raises(BadRequest) as error:
        build_graph([resource("cm", data={"x": "$(ref.nope.metadata.name)"})])
    assert error.value.message == (
        "resource 'cm': reference $(ref.nope.metadata.name) names an unknown resource 'nope'"
    )


def test_a_cycle_is_refused_naming_the_whole_cycle():
    with pytest.raises(BadRequest) as error:
        build_graph(
            [
                resource("a", data={"x": "$(ref.b.metadata.name)"}),
                resource("b", data={"x": "$(ref.c.metadata.name)"}),
                resource("c", data={"x": "$(ref.a.metadata.name)"}),
            ]
        )
    assert "forms a dependency cycle: a -> b -> c -> a" in error.value.message
    assert error.value.message.startswith("resource 'a': reference $(ref.b.metadata.name)")


def test_a_resource_referring_to_itself_is_a_cycle():
    with pytest.raises(BadRequest, match="cycle: a -> a"):
        build_graph([resource("a", data={"x": "$(ref.a.metadata.uid)"})])


def test_an_ambiguous_name_is_refused():
    with pytest.raises(BadRequest, match="ambiguous"):
        build_graph([resource("a"), resource("a"), resource("b", x="$(ref.a.metadata.name)")])


def test_a_reference_without_a_path_is_refused():
    with pytest.raises(BadRequest, match="has no path"):
        build_graph([resource("a"), resource("b", x="$(ref.a)")])


def test_a_whole_string_reference_keeps_the_type_and_an_embedded_one_becomes_text():
    values = {"$(ref.s.spec.ports[0].port)": 8080, "$(ref.s.metadata.name)": "web"}
    result = substitute(
        {
            "port": "$(ref.s.spec.ports[0].port)",
            "url": "http://$(ref.s.metadata.name):$(ref.s.spec.ports[0].port)/",
        },
        values,
    )
    assert result == {"port": 8080, "url": "http://web:8080/"}


def test_lookup_reads_nested_values_and_reports_missing_paths():
    obj = {"spec": {"ports": [{"port": 80}]}}
    assert lookup(obj, Reference("", "s", "spec.ports[0].port")) == 80
    for path in ("spec.ports[1].port", "spec.nope", "spec.ports.port"):
        with pytest.raises(MissingValue):
            lookup(obj, Reference("", "s", path))


def test_a_long_chain_is_ordered_without_recursion_limits():
    chain = [resource("r0")] + [
        resource(f"r{i}", data={"x": f"$(ref.r{i - 1}.metadata.name)"}) for i in range(1, 3000)
    ]
    graph = build_graph(chain)
    assert len(graph.levels) == 3000
    looped = chain + [resource("r-loop")]
    looped[0] = resource("r0", data={"x": "$(ref.r2999.metadata.name)"})
    with pytest.raises(BadRequest, match="cycle: r0 -> r2999 -> r2998"):
        build_graph(looped)
