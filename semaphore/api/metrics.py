"""GET /metrics (Prometheus text format) and the counting of every HTTP request.

/metrics is refused (JSON errors, as the API's) unless `metrics_token` or
`metrics_allowed_networks` allows the scraper: see semaphore/metrics/access.py.
Each request is counted by method, route rule (never the path: ids stay out of the labels)
and status, and timed from the first before_request hook to after_request, which for a
streamed answer is its first byte; a WebSocket session is counted but not timed.
"""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, g, request

from semaphore.api.errors import error_response
from semaphore.errors import SemaphoreError
from semaphore.identity import client_ip
from semaphore.metrics import access, collector
from semaphore.metrics import definitions as metrics

metrics_blueprint = Blueprint("metrics", __name__)
# Held open for as long as the socket lives: its "latency" would drown the others'.
UNTIMED_ENDPOINTS = frozenset({"api.live_socket"})
UNMATCHED = "unmatched"


@metrics_blueprint.get("/metrics")
def scrape() -> Response:
    config = current_app.config["SEMAPHORE"]
    try:
        access.check_scraper(config, request.headers.get("Authorization", ""), client_ip())
    except SemaphoreError as exc:
        response = error_response(exc.message, exc.status)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = collector.render()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def init_app(app: Flask) -> None:
    """Count every request (called first, so the timer starts before any other hook)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request(_count_request)
    app.register_blueprint(metrics_blueprint)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _count_request(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    rule = request.url_rule
    seconds = None
    if started is not None and request.endpoint not in UNTIMED_ENDPOINTS:
        seconds = time.perf_counter() - started
    metrics.http_request(
        request.method, rule.rule if rule is not None else UNMATCHED, response.status_code, seconds
    )
    return response
