"""The case-service FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from arrears.clock import Clock
from arrears.gate import GatePolicy
from arrears.http import install_common
from fastapi import FastAPI
from starlette.types import Message, Scope

from case_service.api.fast import FastCommands
from case_service.api.routes import audit, batch, cases, commands, feed, health, jobs, retention
from case_service.application import CaseApplication
from case_service.settings import CaseServiceSettings


def create_app(
    settings: CaseServiceSettings | None = None,
    *,
    clock: Clock | None = None,
    application: CaseApplication | None = None,
) -> FastAPI:
    """Build the API. Pass `application` to share one event store (tests, benchmarks)."""
    settings = settings or CaseServiceSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = application is None
        app.state.cases = application or CaseApplication(settings, clock=clock)
        if owned:
            app.state.cases.start_daily_file_workers()
        try:
            await route_table_built(app)
            yield
        finally:
            if owned:
                app.state.cases.close()

    app = FastAPI(
        title="Arrears case-service",
        version="1.0.0",
        description="Collection cases: open, record what happened, read the history.",
        lifespan=lifespan,
        # The service's metrics are Prometheus' (arrears.metrics) and nothing here sets up
        # OpenTelemetry; with FastAPI's bridge on, every request asked OpenTelemetry's global
        # providers whether one had been configured meanwhile.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Innermost middleware, so inside the input gate: the lean path for plain commands.
    app.add_middleware(FastCommands)
    # The daily file is the one large body: 200,000 items of about 150 bytes.
    install_common(
        app, settings, GatePolicy.with_limits({r"/v1/missed-payments:batch": 40 * 2**20})
    )
    app.include_router(health.router)
    app.include_router(cases.router)
    app.include_router(commands.router)
    app.include_router(batch.router)
    app.include_router(jobs.router)
    app.include_router(feed.router)
    app.include_router(audit.router)
    app.include_router(retention.router)
    return app


# A path no route answers: FastAPI matches it against every route.
WARM_UP_PATH = "/.route-table-warm-up"


async def route_table_built(app: FastAPI) -> int:
    """FastAPI builds a router's routes (dependencies, body and response models) on the first
    request that passes them: about 40 ms of CPU that a fresh server's first daily file paid.
    At start-up, before /healthz answers, one request that no route answers passes them all;
    it goes to the router alone (no middleware: nothing is logged or counted) and its answer,
    a 404, is dropped. The status is returned for the tests."""
    status = 0

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": WARM_UP_PATH,
        "raw_path": WARM_UP_PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": None,
        "server": None,
    }
    await app.router(scope, receive, send)
    return status
