"""The FastAPI app of a read-side service: its lifespan (schema, outbox, consumer) and the
common plumbing (problem+json, correlation ids, metrics, auth), around the service's routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from arrears.http import install_common
from arrears.settings import ServiceSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def service_lifespan(
    engine: AsyncEngine,
    *,
    prepare_schema: Callable[[AsyncEngine], Awaitable[None]],
    outbox: Callable[[], AbstractAsyncContextManager[Any]],
    workers: Callable[[], AbstractAsyncContextManager[Any]] | None,
    on_close: Callable[[], Awaitable[None]] | None = None,
    dispose_engine: bool = True,
) -> Lifespan:
    """Start: the service's schema (checked at head, or migrated: arrears.migrations), then its
    outbox, then (when given) its workers. Stop: in reverse, then `on_close`, then the engine
    unless the caller owns it (tests)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await prepare_schema(engine)
            await stack.enter_async_context(outbox())
            if workers is not None:
                await stack.enter_async_context(workers())
            yield
        if on_close is not None:
            await on_close()
        if dispose_engine:
            await engine.dispose()

    return lifespan


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    lifespan: Lifespan,
    ctx: object,
    routers: Iterable[APIRouter],
    inner: Iterable[Callable[[ASGIApp], ASGIApp]] = (),
) -> FastAPI:
    """The app with `ctx` (the service's shared context) on `app.state.ctx`. `inner`: ASGI
    middleware classes placed innermost, inside the common plumbing (so inside the input
    gate), e.g. a service's lean path for a hot route."""
    app = FastAPI(
        title=title,
        version="1.0.0",
        description=description,
        lifespan=lifespan,
        # As case-service: the metrics are Prometheus' (arrears.metrics) and nothing sets up
        # OpenTelemetry; with FastAPI's bridge on, every request asked OpenTelemetry's global
        # providers whether one had been configured meanwhile.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ctx = ctx
    for middleware in inner:  # added first: each later add_middleware wraps it
        app.add_middleware(middleware)
    install_common(app, settings)
    for router in routers:
        app.include_router(router)
    return app
