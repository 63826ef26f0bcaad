"""The expander's metrics: expansions, their duration, and the sandbox processes stopped."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EXPANSIONS = Counter(
    "dm_expansions_total",
    "Expansions answered, by outcome: succeeded, rejected (an error in the templates or a "
    "limit they broke) or failed (the sandbox could not answer).",
    ["outcome"],
)
EXPANSION_SECONDS = Histogram(
    "dm_expansion_duration_seconds",
    "Time to expand one request in the sandbox, waiting for it included.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SANDBOX_KILLS = Counter(
    "dm_sandbox_kills_total",
    "Expansions stopped by the sandbox, by reason: timeout, cpu, memory, output (too large), "
    "crash, unresponsive (the fork server itself).",
    ["reason"],
)


def expansion_ended(status: int, killed: str | None, seconds: float) -> None:
    """Count one expansion answered with HTTP `status`; `killed` is why it was stopped."""
    outcome = "succeeded" if status == 200 else "rejected" if status == 400 else "failed"
    EXPANSIONS.labels(outcome).inc()
    EXPANSION_SECONDS.observe(seconds)
    if killed:
        sandbox_killed(killed)


def sandbox_killed(reason: str) -> None:
    SANDBOX_KILLS.labels(reason).inc()
