"""The contact-service FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from arrears.clock import Clock, clock_from
from arrears.http import install_common
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from contact_service.api.routes import (
    cases,
    daily_runs,
    health,
    kpis,
    outcomes,
    permissions,
    promises,
    queues,
)
from contact_service.context import Context
from contact_service.policy.strategy import StrategyBook
from contact_service.readmodel import create_tables
from contact_service.settings import ContactServiceSettings
from contact_service.wiring import start_outbox, start_workers


def create_app(
    settings: ContactServiceSettings | None = None,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    book: StrategyBook | None = None,
    workers: bool | None = None,
) -> FastAPI:
    """Build the API. With `workers` (default: settings.run_workers) the lifespan also runs
    the case-event consumer, the task publisher and the command forwarder."""
    settings = settings or ContactServiceSettings()
    ctx = Context.build(
        settings, clock or clock_from(settings.clock_file), engine=engine, book=book
    )
    run_workers = settings.run_workers if workers is None else workers

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await create_tables(ctx.engine)
            await stack.enter_async_context(start_outbox(ctx, publish=run_workers))
            if run_workers:
                await stack.enter_async_context(start_workers(ctx))
            yield
        if ctx.reads is not None:
            await ctx.reads.close()
        if engine is None:
            await ctx.engine.dispose()

    app = FastAPI(
        title="Arrears contact-service",
        version="1.0.0",
        description=(
            "Work queues, lawful contact (the contact guard), strategies and contact tasks, "
            "from the case events."
        ),
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    install_common(app, settings)
    for router in (
        health.router,
        permissions.router,
        queues.router,
        outcomes.router,
        cases.router,
        kpis.router,
        promises.router,
        daily_runs.router,
    ):
        app.include_router(router)
    return app
