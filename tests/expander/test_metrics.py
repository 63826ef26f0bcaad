"""The expander's metrics: expansions by outcome with their duration, and sandbox kills."""

from __future__ import annotations

from prometheus_client import REGISTRY

CONFIG = "resources:\n- {name: a, type: t.py}\n"
FAILING = "def GenerateConfig(context):\n    return 1 / 0\n"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def kills() -> dict[str, float]:
    reasons = ("timeout", "cpu", "memory", "output", "crash", "unresponsive")
    return {reason: sample("dm_sandbox_kills_total", reason=reason) for reason in reasons}


def test_an_expansion_is_counted_by_outcome_and_timed(expand):
    succeeded = sample("dm_expansions_total", outcome="succeeded")
    rejected = sample("dm_expansions_total", outcome="rejected")
    timed = sample("dm_expansion_duration_seconds_count")
    expand.ok("resources:\n- {name: a, type: ConfigMap}\n")
    expand.error(CONFIG, {"t.py": FAILING})
    assert sample("dm_expansions_total", outcome="succeeded") - succeeded == 1
    assert sample("dm_expansions_total", outcome="rejected") - rejected == 1
    assert sample("dm_expansion_duration_seconds_count") - timed == 2


def test_a_template_the_sandbox_stops_counts_one_kill_with_its_reason(expand):
    before = kills()
    template = "def GenerateConfig(context):\n    while True:\n        pass\n"
    expand.error(CONFIG, {"t.py": template})
    moved = {reason: count - before[reason] for reason, count in kills().items()}
    # On a busy machine the wall-clock limit may strike before the CPU-time limit.
    assert sorted(moved.values()) == [0, 0, 0, 0, 0, 1]
    assert moved["timeout"] + moved["cpu"] == 1


def test_a_template_error_is_no_kill(expand):
    before = kills()
    expand.error(CONFIG, {"t.py": FAILING})
    assert kills() == before
