"""`python -m console_service`: serve the console.
`python -m console_service create-demo-users --secrets-file PATH`: one user per role.
`python -m console_service password USER --secrets-file PATH`: print a demo user's password.
`python -m console_service create-user NAME ROLE`: a user, the password read from stdin."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from arrears.db import async_engine
from arrears.heap import settle_heap
from arrears.logging import configure_logging
from fastapi import FastAPI

from console_service.accounts import ROLES, create_user
from console_service.app import create_app
from console_service.db import create_tables
from console_service.demo import create_demo_users, load_passwords
from console_service.migrations import MIGRATIONS
from console_service.settings import ConsoleSettings


async def _demo(settings: ConsoleSettings, path: Path) -> int:
    engine = async_engine(settings.database_url, pool_size=1)
    try:
        passwords = await create_demo_users(engine, path)
    finally:
        await engine.dispose()
    print(f"demo users: {', '.join(sorted(passwords))} (passwords in {path})")
    return 0


async def _create(settings: ConsoleSettings, username: str, role: str, password: str) -> int:
    engine = async_engine(settings.database_url, pool_size=1)
    try:
        await create_tables(engine)
        created = await create_user(engine, username, password, role, datetime.now(UTC))
    finally:
        await engine.dispose()
    if not created:
        print(f"error: user {username} exists", file=sys.stderr)
        return 1
    return 0


def _secrets_file(given: str | None, settings: ConsoleSettings) -> Path | None:
    chosen = given or settings.demo_users_file
    return Path(chosen) if chosen else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m console_service")
    commands = parser.add_subparsers(dest="command")
    demo = commands.add_parser("create-demo-users", help="one user per role, passwords to a file")
    demo.add_argument("--secrets-file", default=None)
    show = commands.add_parser("password", help="print a demo user's password")
    show.add_argument("user")
    show.add_argument("--secrets-file", default=None)
    make = commands.add_parser("create-user", help="a user; the password is read from stdin")
    make.add_argument("username")
    make.add_argument("role", choices=ROLES)
    commands.add_parser("serve", help="serve the console (the default)")
    commands.add_parser("migrate", help="upgrade the console's database schema to head")
    args = parser.parse_args(argv)
    settings = ConsoleSettings()
    if args.command == "migrate":
        MIGRATIONS.upgrade(settings.database_url)
        print(f"{settings.service_name}: database schema at {MIGRATIONS.head()}")
        return 0
    if args.command in ("create-demo-users", "password"):
        path = _secrets_file(args.secrets_file, settings)
        if path is None:
            print("error: give --secrets-file or DEMO_USERS_FILE", file=sys.stderr)
            return 2
        if args.command == "create-demo-users":
            return asyncio.run(_demo(settings, path))
        password = load_passwords(path).get(args.user)
        if password is None:
            print(f"error: no demo user {args.user!r} in {path}", file=sys.stderr)
            return 1
        print(password)
        return 0
    if args.command == "create-user":
        password = sys.stdin.readline().rstrip("\n")
        if len(password) < 12:
            print("error: a password has at least 12 characters", file=sys.stderr)
            return 2
        return asyncio.run(_create(settings, args.username, args.role, password))
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    uvicorn.run(
        "console_service.__main__:serve_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
    )
    return 0


def serve_app() -> FastAPI:
    settings = ConsoleSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    app = create_app(settings)
    settle_heap()
    return app


if __name__ == "__main__":
    sys.exit(main())
