"""`python -m case_service [serve]`: serve the case-service HTTP API.
`python -m case_service migrate`: upgrade case-service's own tables to head (before a
rollout); serving refuses a database behind head in one line."""

from __future__ import annotations

import argparse
import sys

import uvicorn
from arrears.heap import settle_heap
from arrears.logging import configure_logging
from arrears.metrics import share_metrics_between_workers
from arrears.migrations import SchemaBehind
from fastapi import FastAPI

from case_service.api.app import create_app
from case_service.migrations import MIGRATIONS
from case_service.settings import CaseServiceSettings

WRITER_SWITCH_INTERVAL = 0.001  # seconds


def serve_app() -> FastAPI:
    """The app as each server process builds it, logging configured first."""
    settings = CaseServiceSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    settle_heap()
    # Two threads share the interpreter: the event loop and the command writer. Each time the
    # writer's database round trip returns, it needs the GIL back, and a busy event loop keeps
    # it for up to the switch interval (5 ms by default), several times per batch: that
    # wait, not work, made a batch's commit slow under load. 1 ms bounds it.
    sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m case_service")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    command = parser.parse_args(argv).command
    settings = CaseServiceSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    try:
        migrate = command == "migrate" or settings.migrate_on_start
        MIGRATIONS.prepare(settings.database_url, migrate=migrate)
    except SchemaBehind as exc:
        print(exc, file=sys.stderr)
        return 3
    if command == "migrate":
        print(f"{settings.service_name}: database schema at {MIGRATIONS.head()}")
        return 0
    # Several worker processes use both cores; each has its own batching writer, and the
    # event store's optimistic version check keeps them consistent.
    share_metrics_between_workers(settings.http_workers)
    uvicorn.run(
        "case_service.__main__:serve_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
