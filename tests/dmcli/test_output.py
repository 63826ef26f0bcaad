"""How the CLI prints an operation's steps and its tables."""

from __future__ import annotations

import io

from dmcli.output import StepPrinter, history_table, names_of

OPERATION = {
    "id": "op1",
    "steps": [
        {"resource": "web-deployment", "action": "apply", "status": "Pending"},
        {"resource": "web-service", "action": "apply", "status": "Pending"},
    ],
}


def test_plain_output_has_one_line_per_step_change_and_skips_pending():
    stream = io.StringIO()
    printer = StepPrinter(stream, OPERATION)
    printer.step(0, {"resource": "web-deployment", "action": "apply", "status": "Running"})
    printer.step(1, {"resource": "web-service", "action": "apply", "status": "Pending"})
    printer.step(
        0,
        {
            "resource": "web-deployment",
            "action": "apply",
            "status": "Failed",
            "message": "spec.selector:\n  Required value",
        },
    )
    printer.close()
    assert stream.getvalue() == (
        "web-deployment  apply   Running\n"
        "web-deployment  apply   Failed  spec.selector: Required value\n"
    )


def test_a_terminal_gets_a_progress_line_redrawn_under_the_steps():
    stream = io.StringIO()
    printer = StepPrinter(stream, OPERATION, live=True)
    printer.step(0, {"resource": "web-deployment", "action": "apply", "status": "Running"})
    printer.step(0, {"resource": "web-deployment", "action": "apply", "status": "Succeeded"})
    printer.close()
    assert stream.getvalue() == (
        "web-deployment  apply   Running\n"
        "\r\033[K[0/2] web-deployment"
        "\r\033[Kweb-deployment  apply   Succeeded\n"
        "\r\033[K[1/2]"
        "\r\033[K"
    )


def test_history_table_shows_manifest_names_only_when_wide():
    history = [
        {
            "name": "manifest-1",
            "revision": 1,
            "createdAt": "2026-11-30T06:03:03Z",
            "operation": "op1",
            "status": "Succeeded",
        }
    ]
    assert history_table(history).splitlines() == [
        "REVISION  CREATED               STATUS     OPERATION",
        "1         2026-11-30T06:03:03Z  Succeeded  op1",
    ]
    assert history_table(history, wide=True).splitlines()[1].split()[-1] == "manifest-1"


def test_names_are_ids_of_operations_and_names_of_the_rest():
    assert names_of([{"id": "op1", "deployment": "web"}, {"name": "web"}, "plain"]) == [
        "op1",
        "web",
        "plain",
    ]
