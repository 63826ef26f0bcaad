"""Prometheus metrics every service shares: its HTTP requests, and `GET /metrics`.

Under gunicorn each worker process counts on its own; prometheus_client's multiprocess
mode adds them up. It is on when PROMETHEUS_MULTIPROC_DIR names a directory before
prometheus_client is first imported, which the console scripts see to (server.py).
Without it (an app built in a test) the metrics live in this process's default registry.
"""

from __future__ import annotations

import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from dmcommon.server import MULTIPROCESS_DIR

HTTP_REQUESTS = Counter(
    "dm_http_requests_total",
    "HTTP requests answered, by route (the URL rule), method and status.",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "dm_http_request_duration_seconds",
    "Time to answer an HTTP request, by route and method (streams: until the answer starts).",
    ["route", "method"],
)

# The route label of a request no URL rule matched (404, 405): never the raw path,
# which would make a new series per path.
UNMATCHED = "unmatched"


def instrument(app: Flask) -> None:
    """Count `app`'s requests and serve `GET /metrics`.

    Call it before anything else adds request hooks (the token check), so that a
    request refused by one is timed too.
    """

    @app.before_request
    def _start_timer():
        g.dm_started = time.perf_counter()

    @app.after_request
    def _count(response):
        route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
        HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        started = g.pop("dm_started", None)
        if started is not None:
            HTTP_SECONDS.labels(route, request.method).observe(time.perf_counter() - started)
        return response

    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])


def _metrics():
    return Response(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def registry() -> CollectorRegistry:
    """What `/metrics` shows: every worker's counts in multiprocess mode, else this process's."""
    if not os.environ.get(MULTIPROCESS_DIR):
        return REGISTRY
    collected = CollectorRegistry()
    MultiProcessCollector(collected)
    return collected
