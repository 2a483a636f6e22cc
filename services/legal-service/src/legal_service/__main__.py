"""`python -m legal_service`: the API with the case-event consumer, the task publisher and
the command forwarder in one process. `python -m legal_service daily-run`: run the legal
policy over every open case once and print the report (a scheduler's cron entry)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import uvicorn
from arrears.clock import SystemClock
from arrears.logging import configure_logging
from arrears.outbox import create_outbox_tables

from legal_service.api.app import create_app
from legal_service.context import Context
from legal_service.daily import run_daily
from legal_service.readmodel import create_tables
from legal_service.settings import LegalServiceSettings


async def _daily_run(settings: LegalServiceSettings) -> int:
    ctx = Context.build(settings, SystemClock())
    try:
        await create_tables(ctx.engine)
        await create_outbox_tables(ctx.engine)
        # Tasks go to the task outbox; the service's own publisher sends them to Kafka.
        report = await run_daily(ctx)
    finally:
        await ctx.engine.dispose()
    print(json.dumps(vars(report), default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m legal_service")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "daily-run"])
    args = parser.parse_args(argv)
    settings = LegalServiceSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if args.command == "daily-run":
        return asyncio.run(_daily_run(settings))
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
