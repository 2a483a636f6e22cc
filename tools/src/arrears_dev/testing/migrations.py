"""Checks every service's migration history passes (the tests of tests/integration/migrations
run them for each service; a new service adds one line there).

- `schema_differences`: after upgrading an empty database to head, what alembic's
  compare_metadata finds between it and the service's models (should be nothing).
- `upgrade_with_data`: for each revision, a database at the revision before it with a row in
  every table, upgraded; the rows must still be there (and a revision's own check may look).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from arrears.migrations import Migrations, migrate_url, own_tables
from sqlalchemy import Connection, MetaData, create_engine, func, inspect, select, types
from sqlalchemy.dialects import postgresql
from sqlalchemy.pool import NullPool

from arrears_dev.embedded.postgres import create_database, drop_database, with_database
from arrears_dev.testing.names import unique_name

Check = Callable[[Connection], None]


@contextmanager
def empty_database(admin_url: str) -> Iterator[str]:
    name = unique_name("mig")
    create_database(admin_url, name)
    try:
        yield with_database(admin_url, name)
    finally:
        drop_database(admin_url, name)


@contextmanager
def connected(database_url: str) -> Iterator[Connection]:
    engine = create_engine(migrate_url(database_url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def schema_differences(database_url: str, migrations: Migrations, metadata: MetaData) -> list[Any]:
    """Upgrade to head, then compare the database with the models."""
    migrations.upgrade(database_url)
    with connected(database_url) as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": own_tables(metadata),
                "version_table": migrations.version_table,
                "compare_type": True,
            },
        )
        return list(compare_metadata(context, metadata))


def _sample(column_type: types.TypeEngine[Any]) -> Any:
    """A value any column of this type takes."""
    samples: list[tuple[type[Any], Any]] = [
        (postgresql.ARRAY, []),
        (postgresql.JSONB, {}),
        (types.JSON, {}),
        (types.Boolean, False),
        (types.DateTime, datetime(2026, 1, 2, 3, 4, tzinfo=UTC)),
        (types.Date, date(2026, 1, 2)),
        (types.Numeric, Decimal("1.00")),
        (types.Integer, 1),
        (types.Uuid, uuid.UUID(int=1)),
        (types.LargeBinary, b"x"),
        (types.String, "x"),
    ]
    for kind, value in samples:
        if isinstance(column_type, kind):
            return value
    raise TypeError(f"no sample value for {column_type!r}: add one in arrears_dev.testing")


def seed_every_table(conn: Connection, version_table: str) -> dict[str, int]:
    """One row in every table of the database (but the version table); their counts."""
    reflected = MetaData()
    reflected.reflect(conn)
    counts = {}
    for table in reflected.sorted_tables:
        if table.name == version_table:
            continue
        conn.execute(table.insert().values({c.name: _sample(c.type) for c in table.columns}))
        counts[table.name] = 1
    return counts


def upgrade_with_data(
    admin_url: str,
    migrations: Migrations,
    checks: Mapping[str, Check] | None = None,
    dropped: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """Each revision with a predecessor, upgraded from a database at that predecessor with a
    row in every table: every row survives (but in the tables `dropped[revision]` names,
    which must be gone), and `checks[revision]` (if any) passes after. Returns the
    revisions tested."""
    revisions = migrations.revisions()
    tested = []
    for before, revision in itertools.pairwise(revisions):
        with empty_database(admin_url) as url:
            migrations.upgrade(url, before)
            with connected(url) as conn:
                seeded = seed_every_table(conn, migrations.version_table)
            migrations.upgrade(url, revision)
            gone = set(dropped.get(revision, ())) if dropped else set()
            with connected(url) as conn:
                for name in gone:
                    assert inspect(conn).has_table(name) is False, f"{revision}: {name} kept"
                    seeded.pop(name, None)
                reflected = MetaData()
                reflected.reflect(conn, only=list(seeded))
                for name, count in seeded.items():
                    table = reflected.tables[name]
                    found = conn.execute(select(func.count()).select_from(table)).scalar_one()
                    assert found == count, f"{revision}: {name} has {found} rows, not {count}"
                if checks and revision in checks:
                    checks[revision](conn)
            assert migrations.current(url) == revision
        tested.append(revision)
    return tested
