"""`python -m contact_service`: the API with the case-event consumer, the task publisher and
the command forwarder in one process. `python -m contact_service daily-run`: run today's
strategies once and print the report (a scheduler's cron entry).
`python -m contact_service rebuild`: the read models again from case-service's feed.
`python -m contact_service migrate`: upgrade the database schema to head (before a rollout);
every other command refuses a database behind head."""

from __future__ import annotations

import json
import sys

from arrears.clock import clock_from
from arrears.messaging import FeedClient
from arrears.service import app_factory, run_cli, service_token

from contact_service.api.app import create_app
from contact_service.context import Context
from contact_service.daily import run_daily
from contact_service.migrations import MIGRATIONS
from contact_service.rebuild import rebuild_read_models
from contact_service.settings import ContactServiceSettings
from contact_service.wiring import start_outbox


async def _daily_run(settings: ContactServiceSettings) -> int:
    ctx = Context.build(settings, clock_from(settings.clock_file))
    try:
        # Tasks go to the outbox; the service's own publisher sends them to Kafka.
        async with start_outbox(ctx, publish=False):
            report = await run_daily(ctx)
    finally:
        await ctx.engine.dispose()
    print(json.dumps(vars(report), default=str))
    return 0


async def _rebuild(settings: ContactServiceSettings) -> int:
    ctx = Context.build(settings, clock_from(settings.clock_file))
    feed = FeedClient(settings.case_service_url, service_token(settings))
    try:
        async with start_outbox(ctx, publish=False):
            report = await rebuild_read_models(ctx, feed)
    finally:
        await feed.aclose()
        await ctx.engine.dispose()
    print(
        json.dumps(
            {
                "events": report.events,
                "applied": report.applied,
                "sequence": report.sequence,
                "seconds": round(report.seconds, 3),
            }
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    # Several worker processes may serve the API; each also runs the workers, which is safe:
    # the consumer group splits the partitions, one task publisher is active at a time (an
    # advisory lock), forwarders skip each other's rows, daily runs take a lock.
    return run_cli(
        "python -m contact_service",
        ContactServiceSettings,
        "contact_service.__main__:serve_app",
        {"daily-run": _daily_run, "rebuild": _rebuild},
        argv,
        migrations=MIGRATIONS,
    )


serve_app = app_factory(ContactServiceSettings, create_app)


if __name__ == "__main__":
    sys.exit(main())
