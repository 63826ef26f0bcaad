"""The resourcifier's metrics: what its backends ask of the cluster or the Docker engine."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import requests
from prometheus_client import Counter, Histogram

# A kubectl call may wait on the cluster for up to its timeout (60 s by default).
_CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

KUBECTL_RUNS = Counter(
    "dm_kubectl_runs_total",
    "kubectl processes run, by verb (apply, get, delete, ...) and outcome "
    "(succeeded, failed, timeout, error: it could not start).",
    ["verb", "outcome"],
)
KUBECTL_SECONDS = Histogram(
    "dm_kubectl_duration_seconds",
    "Time one kubectl process ran, by verb.",
    ["verb"],
    buckets=_CALL_BUCKETS,
)
DOCKER_CALLS = Counter(
    "dm_docker_requests_total",
    "Docker engine API calls of the docker backend, by method, what they act on "
    "(containers, networks, volumes, ...) and status.",
    ["method", "target", "status"],
)
DOCKER_SECONDS = Histogram(
    "dm_docker_request_duration_seconds",
    "Time until the Docker engine answered a call, by method and target.",
    ["method", "target"],
    buckets=_CALL_BUCKETS,
)

# `/v1.47/containers/4f2.../start` acts on `containers`.
_TARGET = re.compile(r"^/(?:v[\d.]+/)?_?([a-z]+)")


def kubectl_ran(verb: str, outcome: str, seconds: float) -> None:
    KUBECTL_RUNS.labels(verb, outcome).inc()
    KUBECTL_SECONDS.labels(verb).observe(seconds)


def docker_answered(response: requests.Response, *args, **kwargs) -> requests.Response:
    """A `requests` response hook counting one Docker engine call."""
    match = _TARGET.match(urlsplit(response.request.url).path)
    target = match.group(1) if match else "other"
    method = response.request.method or "GET"
    DOCKER_CALLS.labels(method, target, str(response.status_code)).inc()
    DOCKER_SECONDS.labels(method, target).observe(response.elapsed.total_seconds())
    return response
