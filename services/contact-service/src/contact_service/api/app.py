"""The contact-service FastAPI application factory."""

from __future__ import annotations

from arrears.clock import Clock, clock_from
from arrears.service import create_service_app, service_lifespan
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from contact_service.api.fast import FastAttempts
from contact_service.api.routes import (
    cases,
    daily_runs,
    decisions,
    health,
    kpis,
    outcomes,
    permissions,
    promises,
    queues,
)
from contact_service.context import Context
from contact_service.migrations import MIGRATIONS
from contact_service.policy.strategy import StrategyBook
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

    async def close_reads() -> None:
        if ctx.reads is not None:
            await ctx.reads.close()

    lifespan = service_lifespan(
        ctx.engine,
        prepare_schema=lambda e: MIGRATIONS.prepare_engine(e, migrate=settings.migrate_on_start),
        outbox=lambda: start_outbox(ctx, publish=run_workers),
        workers=(lambda: start_workers(ctx)) if run_workers else None,
        on_close=close_reads,
        dispose_engine=engine is None,
    )
    return create_service_app(
        settings,
        title="Arrears contact-service",
        description=(
            "Work queues, lawful contact (the contact guard), strategies and contact tasks, "
            "from the case events."
        ),
        lifespan=lifespan,
        ctx=ctx,
        routers=(
            health.router,
            permissions.router,
            queues.router,
            outcomes.router,
            cases.router,
            decisions.router,
            kpis.router,
            promises.router,
            daily_runs.router,
        ),
        inner=(FastAttempts,),  # the lean path for attempts and promises (api/fast.py)
    )
