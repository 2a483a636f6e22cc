"""`python -m legal_service`: the API with the case-event consumer, the task publisher and
the command forwarder in one process. `python -m legal_service daily-run`: run the legal
policy over every open case once and print the report (a scheduler's cron entry).
`python -m legal_service rebuild`: rebuild lg_cases from case-service's feed (stop the
service first); legal-service's own records (costs, outcomes, signals, tasks) are kept.
`python -m legal_service migrate`: upgrade the database schema to head (before a rollout);
every other command refuses a database behind head."""

from __future__ import annotations

import json
import sys

from arrears.clock import clock_from
from arrears.messaging import Applier, FeedClient, rebuild
from arrears.service import app_factory, run_cli, service_token

from legal_service.api.app import create_app
from legal_service.context import Context
from legal_service.daily import run_daily
from legal_service.migrations import MIGRATIONS
from legal_service.projections.handlers import Projection, reset
from legal_service.settings import LegalServiceSettings


async def _daily_run(settings: LegalServiceSettings) -> int:
    ctx = Context.build(settings, clock_from(settings.clock_file))
    try:
        # Tasks go to the task outbox; the service's own publisher sends them to Kafka.
        report = await run_daily(ctx)
    finally:
        await ctx.engine.dispose()
    print(json.dumps(vars(report), default=str))
    return 0


async def _rebuild(settings: LegalServiceSettings) -> int:
    ctx = Context.build(settings, clock_from(settings.clock_file))
    feed = FeedClient(settings.case_service_url, service_token(settings))
    try:
        projection = Projection(ctx.policy)
        applier = Applier(
            settings.consumer_group, projection.handle, batch_handler=projection.handle_batch
        )
        report = await rebuild(ctx.engine, applier, feed, reset)
    finally:
        await feed.aclose()
        await ctx.engine.dispose()
    print(json.dumps({**vars(report), "rate": round(report.rate)}))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli(
        "python -m legal_service",
        LegalServiceSettings,
        "legal_service.__main__:serve_app",
        {"daily-run": _daily_run, "rebuild": _rebuild},
        argv,
        migrations=MIGRATIONS,
    )


serve_app = app_factory(LegalServiceSettings, create_app)


if __name__ == "__main__":
    sys.exit(main())
