"""The UI's own logic, run in the browser: the line diff between revisions and the YAML
it diffs."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def run_module(browser):
    """Call a function exported by one of the UI's modules, in the page; its result.

    The arguments travel as JSON text: the driver's own transport reorders object keys.
    """
    browser.open("/deployments")

    def run(module: str, function: str, *args):
        return browser.driver.execute_async_script(
            """
            const [module, name, args, done] = [arguments[0], arguments[1], arguments[2],
                                                arguments[arguments.length - 1]];
            import(`/ui/${module}`).then((loaded) => done(loaded[name](...JSON.parse(args))),
                                         (error) => done(`failed: ${error}`));
            """,
            module,
            function,
            json.dumps(args),
        )

    return run


def diff(run_module, before: str, after: str) -> list[str]:
    return [line["op"] + line["text"] for line in run_module("diff.js", "lineDiff", before, after)]


def test_equal_texts_have_no_changed_lines(run_module):
    assert diff(run_module, "a\nb", "a\nb") == [" a", " b"]


def test_a_changed_line_is_removed_then_added_in_place(run_module):
    assert diff(run_module, "a\nb\nc", "a\nB\nc") == [" a", "-b", "+B", " c"]


def test_moved_and_inserted_lines_keep_the_longest_common_run(run_module):
    assert diff(run_module, "x\na\nb\nc\ny", "x\nb\nc\na\nd\ny") == [
        " x", "-a", " b", " c", "+a", "+d", " y",
    ]


def test_everything_added_to_an_empty_text(run_module):
    assert diff(run_module, "", "a\nb") == ["-", "+a", "+b"]


def test_hunks_keep_three_lines_around_changes_and_mark_gaps(run_module):
    lines = [{"op": " ", "text": str(n)} for n in range(10)]
    lines[5] = {"op": "+", "text": "new"}
    shown = run_module("diff.js", "hunks", lines)
    assert [line["op"] + line["text"] for line in shown] == [
        "…", " 2", " 3", " 4", "+new", " 6", " 7", " 8", "…",
    ]


def test_objects_are_written_as_yaml(run_module):
    value = {
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {}},
        "spec": {"replicas": 3, "ports": [{"port": 80}, {"port": 443}], "args": ["--x", "6379"]},
        "data": {"yes": "true", "note": "two\nlines", "empty": ""},
    }
    assert run_module("yaml.js", "toYaml", value).splitlines() == [
        "kind: Deployment",
        "metadata:",
        "  name: web",
        "  labels: {}",
        "spec:",
        "  replicas: 3",
        "  ports:",
        "  - port: 80",
        "  - port: 443",
        "  args:",
        "  - --x",
        '  - "6379"',
        "data:",
        '  "yes": "true"',
        '  note: "two\\nlines"',
        '  empty: ""',
    ]
