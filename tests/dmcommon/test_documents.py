"""load_yaml: PyYAML's safe-loading results, built in one pass, under our nesting limit."""

import datetime

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dmcommon.documents import MAX_DEPTH, TooDeep, load_yaml


def test_plain_scalars_resolve_as_the_safe_loader_resolves_them():
    text = (
        "- 1\n- 2.5\n- 0x1F\n- 1_000\n- yes\n- 'yes'\n- ~\n- ''\n- 2002-12-14\n"
        "- |\n  #!/bin/bash\n  echo [\n- .inf\n"
    )
    assert load_yaml(text) == [
        1, 2.5, 31, 1000, True, "yes", None, "", datetime.date(2002, 12, 14),
        "#!/bin/bash\necho [\n", float("inf"),
    ]


def test_mappings_keep_order_and_the_last_of_duplicate_keys():
    assert list(load_yaml("b: 1\na: 2\nb: 3\n").items()) == [("b", 3), ("a", 2)]


def test_an_empty_document_is_none():
    assert load_yaml("# nothing here\n") is None


def test_anchors_aliases_and_merge_keys_are_the_safe_loaders():
    loaded = load_yaml("base: &b {cpu: 1, mem: 2}\nvm:\n  <<: *b\n  mem: 4\nsame: *b\n")
    assert loaded == {
        "base": {"cpu": 1, "mem": 2}, "vm": {"cpu": 1, "mem": 4}, "same": {"cpu": 1, "mem": 2}
    }
    assert loaded["same"] is loaded["base"]


def test_explicit_tags_are_the_safe_loaders():
    assert load_yaml("a: !!str 1\nb: !!binary aGk=\n") == {"a": "1", "b": b"hi"}


def test_unsafe_tags_are_refused():
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system [true]\n")


def test_several_documents_are_refused():
    with pytest.raises(yaml.YAMLError):
        load_yaml("--- 1\n--- 2\n")


def test_text_that_is_not_yaml_is_refused():
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: b: c\n")


@pytest.mark.parametrize("text", [
    "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    "- " * MAX_DEPTH + "x\n",
])
def test_nesting_up_to_the_limit_loads(text):
    assert load_yaml(text) is not None


@pytest.mark.parametrize("text", [
    "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
    "[" * 100_000,
    "- " * (MAX_DEPTH + 1) + "x\n",
    "a: &x [1]\nb: " + "[" * MAX_DEPTH + "*x" + "]" * MAX_DEPTH + "\n",
])
def test_nesting_past_the_limit_is_too_deep(text):
    with pytest.raises(TooDeep, match=f"^nested more than {MAX_DEPTH} levels deep$"):
        load_yaml(text)


def test_brackets_inside_a_block_scalar_are_text_not_nesting():
    text = "script: |\n  " + "[" * (MAX_DEPTH + 1) + "\n"
    assert load_yaml(text) == {"script": "[" * (MAX_DEPTH + 1) + "\n"}


# Plain scalars the safe loader resolves to every kind of value, and strings near them.
_WORDS = [
    "yes", "No", "on", "OFF", "y", "n", "true", "False", "~", "null", "Null", "", "1", "-1",
    "+1", "0", "017", "0o17", "0x1F", "0b101", "1_000", "1:20", "1e3", "1.5e3", "6.8523015e+5",
    ".5", "-.inf", ".NaN", "2002-12-14", "2001-12-14t21:59:43.10-05:00", "=", "a", "name",
    "cm-1", "value-7", "t", "Ünï", "9lives", ".hidden", "-dash", "+plus",
]
_SCALARS = st.one_of(
    st.sampled_from(_WORDS),
    st.text(alphabet="abyn019-+._:~=", min_size=1, max_size=6),
)


def _flow(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pairs = st.lists(st.tuples(_SCALARS, children), max_size=4)
    return st.one_of(
        pairs.map(lambda items: "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"),
        st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    )


_FLOW_DOCUMENTS = st.recursive(_SCALARS, _flow, max_leaves=20)


def _safe_loaders_answer(text: str) -> str:
    try:
        return repr(yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    # A scalar written as a number it is not (`0b_`) is a ValueError of PyYAML's.
    except (yaml.YAMLError, ValueError):
        return "refused"


def _ours(text: str) -> str:
    try:
        return repr(load_yaml(text))
    except yaml.YAMLError:
        return "refused"


@settings(max_examples=300, deadline=None)
@given(_FLOW_DOCUMENTS)
def test_flow_documents_load_as_the_safe_loader_loads_them(text):
    assert _ours(text) == _safe_loaders_answer(text)


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_SCALARS, children, max_size=4)
    ),
    max_leaves=20,
))
def test_block_documents_load_as_the_safe_loader_loads_them(data):
    text = yaml.safe_dump(data, default_flow_style=False, allow_unicode=True)
    assert _ours(text) == _safe_loaders_answer(text)


@pytest.mark.parametrize(
    ("text", "where", "value", "kind"),
    [
        ("mask: 0b_\n", "line 1, column 7", "'0b_'", "an integer"),
        ("ports: [80, 0x_]\n", "line 1, column 13", "'0x_'", "an integer"),
        ("a: 1\nreleased: 2001-13-45\n", "line 2, column 11", "'2001-13-45'", "a date"),
        ("a: &n -0b_\nb: *n\n", "line 1, column 4", "'-0b_'", "an integer"),
        # A sequence that holds itself, ahead of the bad value.
        ("a: &s [*s, 0x_]\n", "line 1, column 12", "'0x_'", "an integer"),
    ],
)
def test_a_scalar_written_as_a_number_or_date_it_is_not_is_a_yaml_error(
    text, where, value, kind
):
    with pytest.raises(yaml.YAMLError) as raised:
        load_yaml(text)
    error = raised.value
    assert f"line {error.problem_mark.line + 1}, column {error.problem_mark.column + 1}" == where
    assert error.problem == (
        f"{value} is written as {kind} but is not one; quote it to keep it a string"
    )
