"""Prometheus metrics for HTTP services: rate, latency and errors by route, and /metrics.

A plain ASGI middleware rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware
runs each request through extra tasks and streams, which cost a fifth of a command's time.
"""

from __future__ import annotations

import os
import tempfile
import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def route_template(scope: Scope) -> str:
    # Label by the route's template, not the raw path, so case ids don't explode cardinality.
    # The router leaves the matched route in the (shared) scope.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        # Each route's series, looked up once: `labels()` checks and locks on every call, a
        # few microseconds a request. Bounded: routes are templates (or "unmatched").
        self._latency: dict[tuple[str, str], Histogram] = {}
        self._requests: dict[tuple[str, str, int], Counter] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees if the app fails before answering

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self._observe(scope["method"], route_template(scope), status, started)

    def _observe(self, method: str, route: str, status: int, started: float) -> None:
        latency = self._latency.get((method, route))
        if latency is None:
            latency = self._latency[method, route] = LATENCY.labels(self.service, method, route)
        latency.observe(time.perf_counter() - started)
        requests = self._requests.get((method, route, status))
        if requests is None:
            requests = REQUESTS.labels(self.service, method, route, str(status))
            self._requests[method, route, status] = requests
        requests.inc()


def install_metrics(app: FastAPI, service: str) -> None:
    app.add_middleware(MetricsMiddleware, service=service)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(latest_metrics(), media_type=CONTENT_TYPE_LATEST)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def share_metrics_between_workers(workers: int) -> None:
    """Call before starting `workers` > 1 server processes: each then writes its samples to
    a shared folder and any of them answers /metrics with the sum, not its own share."""
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="arrears-metrics-")


def latest_metrics() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
