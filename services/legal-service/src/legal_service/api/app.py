"""The legal-service FastAPI application factory."""

from __future__ import annotations

from arrears.clock import Clock, clock_from
from arrears.service import create_service_app, service_lifespan
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from legal_service.api.routes import cases, daily_runs, health, pipeline, records, steps
from legal_service.context import Context
from legal_service.migrations import MIGRATIONS
from legal_service.policy.thresholds import LegalPolicy
from legal_service.settings import LegalServiceSettings
from legal_service.workers import start_consumer, start_outbox


def create_app(
    settings: LegalServiceSettings | None = None,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    policy: LegalPolicy | None = None,
    workers: bool | None = None,
) -> FastAPI:
    """Build the API. With `workers` (default: settings.run_workers) the lifespan also runs
    the case-event consumer, the task publisher and the command forwarder's loop."""
    settings = settings or LegalServiceSettings()
    ctx = Context.build(
        settings, clock or clock_from(settings.clock_file), engine=engine, policy=policy
    )
    run_workers = settings.run_workers if workers is None else workers

    lifespan = service_lifespan(
        ctx.engine,
        prepare_schema=lambda e: MIGRATIONS.prepare_engine(e, migrate=settings.migrate_on_start),
        outbox=lambda: start_outbox(ctx, run=run_workers),
        workers=(lambda: start_consumer(ctx)) if run_workers else None,
        dispose_engine=engine is None,
    )
    return create_service_app(
        settings,
        title="Arrears legal-service",
        description=(
            "The legal pipeline, the limitation clock, legal recommendations and tasks, from "
            "the case events; legal steps recorded here are forwarded to case-service."
        ),
        lifespan=lifespan,
        ctx=ctx,
        routers=(
            health.router,
            pipeline.router,
            cases.router,
            steps.router,
            records.router,
            daily_runs.router,
        ),
    )
