"""`python -m <service> [command]`: serve the API (the default) or run a one-off command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from arrears.heap import settle_heap
from arrears.logging import configure_logging
from arrears.migrations import Migrations, SchemaBehind
from arrears.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def run_cli(
    prog: str,
    settings_type: type[S],
    app_factory: str,
    commands: Mapping[str, Callable[[S], Coroutine[Any, Any, int]]],
    argv: list[str] | None = None,
    *,
    migrations: Migrations | None = None,
) -> int:
    """Parse the command, configure logging, then serve `app_factory` ("module:function",
    built in each server process), `migrate` the schema to head, or run the named command
    to its exit status. A schema behind head stops any of them with one line."""
    parser = argparse.ArgumentParser(prog=prog)
    names = ["serve", *(["migrate"] if migrations else []), *commands]
    parser.add_argument("command", nargs="?", default="serve", choices=names)
    args = parser.parse_args(argv)
    settings = settings_type()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    try:
        if migrations is not None:
            migrations.prepare(
                settings.database_url,
                migrate=args.command == "migrate" or settings.migrate_on_start,
            )
    except SchemaBehind as exc:
        print(exc, file=sys.stderr)
        return 3
    if args.command == "migrate":
        print(f"{settings.service_name}: database schema at {migrations and migrations.head()}")
        return 0
    if args.command != "serve":
        return asyncio.run(commands[args.command](settings))
    serve(settings, app_factory, workers=getattr(settings, "http_workers", 1))
    return 0


def app_factory(
    settings_type: type[S], create_app: Callable[[S], FastAPI]
) -> Callable[[], FastAPI]:
    """What `app_factory` names: the app as each server process builds it, logging first."""

    def build() -> FastAPI:
        settings = settings_type()
        configure_logging(settings.service_name, settings.log_level, settings.log_json)
        app = create_app(settings)
        settle_heap()
        return app

    return build


def serve(settings: ServiceSettings, app_factory: str, *, workers: int = 1) -> None:
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=workers,
        log_config=None,
        access_log=False,
    )
