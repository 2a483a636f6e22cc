"""Schema migrations with Alembic: one history per service, the same mechanics for all.

A service keeps its history in `<package>/migrations/` (`env.py` calling `run_env`, and
`versions/`) and describes it with a `Migrations`. Its own version table
(`alembic_version_<service>`) lets services share a database in tests or small installs.

- `python -m <service> migrate` (the Kubernetes Job, the compose one-shot, `make run`)
  upgrades to head over psycopg 3 (`migrate_url`), serialised by an advisory lock.
- At start-up a service only checks that its database is at head (`SchemaBehind`, one line,
  otherwise): production never changes a schema as a side effect of starting a pod. With
  `MIGRATE_ON_START=true` (tests, the embedded demo) it upgrades instead (`prepare`).

The first revision of each history creates its tables `IF NOT EXISTS`, so a database built
by the former `create_all` start-up is adopted as it is, not rebuilt.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

_log = logging.getLogger(__name__)
_LOCK_BASE = 7_202_000  # advisory lock keys of the migrations: this plus a hash of the table


class SchemaBehind(RuntimeError):
    """The database's schema is not at the revision this code needs."""


def migrate_url(database_url: str) -> str:
    """`postgresql://…` (as DATABASE_URL is given) → `postgresql+psycopg://…` (psycopg 3)."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return f"postgresql+psycopg://{rest}"


@dataclass(frozen=True)
class Migrations:
    """One service's migration history."""

    service: str  # e.g. "contact-service": names the version table and the messages
    package: str  # the package holding env.py and versions/, e.g. "contact_service.migrations"

    @property
    def version_table(self) -> str:
        return "alembic_version_" + self.service.replace("-", "_")

    @property
    def command(self) -> str:
        return f"python -m {self.service.replace('-', '_')} migrate"

    def config(
        self, database_url: str | None = None, connection: Connection | None = None
    ) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files(self.package)))
        cfg.attributes["version_table"] = self.version_table
        if database_url is not None:
            cfg.attributes["url"] = migrate_url(database_url)
        if connection is not None:
            cfg.attributes["connection"] = connection
        return cfg

    def revisions(self) -> list[str]:
        """Every revision, oldest first."""
        script = ScriptDirectory.from_config(self.config())
        return [r.revision for r in reversed(list(script.walk_revisions()))]

    def head(self) -> str:
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        if head is None:
            raise RuntimeError(f"{self.package} has no migrations")
        return head

    # --- synchronous (the migrate command, case-service) ---------------------------------

    def upgrade(self, database_url: str, revision: str = "head") -> None:
        command.upgrade(self.config(database_url), revision)

    def current(self, database_url: str) -> str | None:
        engine = create_engine(migrate_url(database_url), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return self._current(conn)
        finally:
            engine.dispose()

    def check(self, database_url: str) -> None:
        """Raise SchemaBehind (one line) unless the database is at head."""
        self._judge(self.current(database_url))

    def prepare(self, database_url: str, *, migrate: bool) -> None:
        """At start-up: upgrade (MIGRATE_ON_START) or refuse a database behind head."""
        if migrate:
            self.upgrade(database_url)
        else:
            self.check(database_url)

    # --- on a service's async engine (asyncpg) -------------------------------------------

    async def upgrade_engine(self, engine: AsyncEngine, revision: str = "head") -> None:
        async with engine.begin() as conn:
            await conn.run_sync(self._upgrade_on, revision)

    async def check_engine(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            self._judge(await conn.run_sync(self._current))

    async def prepare_engine(self, engine: AsyncEngine, *, migrate: bool) -> None:
        if migrate:
            await self.upgrade_engine(engine)
        else:
            await self.check_engine(engine)

    def _upgrade_on(self, connection: Connection, revision: str) -> None:
        command.upgrade(self.config(connection=connection), revision)

    def _current(self, connection: Connection) -> str | None:
        # Every start-up asks; alembic's "Context impl ..." lines would only be noise here.
        quiet = logging.getLogger("alembic.runtime.migration")
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            context = MigrationContext.configure(
                connection, opts={"version_table": self.version_table}
            )
            return context.get_current_revision()
        finally:
            quiet.setLevel(level)

    def _judge(self, current: str | None) -> None:
        head = self.head()
        if current == head:
            return
        if current is not None and current not in self.revisions():
            # Written by a newer release (a rolling upgrade in progress): its migrations only
            # add, so this code still works on it; say so rather than refuse.
            _log.warning(
                "%s: database at revision %s, unknown here (newer?)", self.service, current
            )
            return
        raise SchemaBehind(
            f"{self.service}: database schema at revision {current or 'none'}, this code needs "
            f"{head}; run `{self.command}` first"
        )


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`: run the migrations online, on the
    connection the caller gave or on a psycopg engine for the URL, under an advisory lock
    (several pods or processes may start at once). Only the service's own tables are
    compared (`include_object`): the event store's library tables or another service's
    sharing the database are not its business."""
    from alembic import context

    cfg = context.config
    version_table: str = cfg.attributes["version_table"]
    given: Connection | None = cfg.attributes.get("connection")
    if given is not None:
        _run(context, given, target_metadata, version_table)
        return
    engine = create_engine(cfg.attributes["url"], poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run(context, connection, target_metadata, version_table)
            connection.commit()
    finally:
        engine.dispose()


def _run(context: Any, connection: Connection, metadata: MetaData, version_table: str) -> None:
    lock = _LOCK_BASE + zlib.crc32(version_table.encode()) % 1000
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        include_object=own_tables(metadata),
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def own_tables(metadata: MetaData) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """An `include_object` that ignores tables the metadata does not describe."""

    def include(_obj: Any, name: str | None, kind: str, reflected: bool, _compare: Any) -> bool:
        return not (kind == "table" and reflected and name not in metadata.tables)

    return include


def execute_all(statements: Iterable[str]) -> None:
    """Run raw DDL in a migration (the shared tables' frozen first shape)."""
    from alembic import op

    for statement in statements:
        op.execute(statement)
