"""Every service's migration history: empty to head equals the models, each revision upgrades
a database holding data, a database the former start-up built is adopted, and a service
refuses a database behind head with one line."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest
from arrears.migrations import Migrations, SchemaBehind
from arrears_dev.testing.migrations import (
    connected,
    empty_database,
    schema_differences,
    seed_every_table,
    upgrade_with_data,
)
from case_service.migrations import MIGRATIONS as CASE
from case_service.schema import METADATA as CASE_TABLES
from console_service import db as console_db
from console_service.migrations import MIGRATIONS as CONSOLE
from contact_service.migrations import MIGRATIONS as CONTACT
from contact_service.readmodel.tables import METADATA as CONTACT_TABLES
from legal_service.migrations import MIGRATIONS as LEGAL
from legal_service.readmodel.tables import METADATA as LEGAL_TABLES
from sqlalchemy import Connection, MetaData, text


@dataclass(frozen=True)
class Service:
    migrations: Migrations
    metadata: MetaData


SERVICES = {
    "case-service": Service(CASE, CASE_TABLES),
    "contact-service": Service(CONTACT, CONTACT_TABLES),
    "legal-service": Service(LEGAL, LEGAL_TABLES),
    "console": Service(CONSOLE, console_db.metadata),
}
each_service = pytest.mark.parametrize("name", sorted(SERVICES))


@each_service
def test_an_empty_database_upgraded_to_head_equals_the_models(
    name: str, postgres_url_base: str
) -> None:
    service = SERVICES[name]
    with empty_database(postgres_url_base) as url:
        assert schema_differences(url, service.migrations, service.metadata) == []
        assert service.migrations.current(url) == service.migrations.head()


def _promises_index_is_there(conn: Connection) -> None:
    found = conn.execute(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = 'cs_cases_queue_promises'")
    ).scalar_one()
    assert "open_promise_due IS NOT NULL" in found


CHECKS = {"contact-service": {"0002": _promises_index_is_there}}
# Tables a revision drops on purpose, their rows moved elsewhere (case-service 0003: the
# chain into the events' rows; tests/integration/audit/test_chain_migration.py).
DROPPED = {"case-service": {"0003": ["event_hashes"]}}


@each_service
def test_every_revision_upgrades_a_database_holding_data(name: str, postgres_url_base: str) -> None:
    service = SERVICES[name]
    tested = upgrade_with_data(
        postgres_url_base, service.migrations, CHECKS.get(name), DROPPED.get(name)
    )
    assert tested == service.migrations.revisions()[1:]


def test_contact_service_has_revisions_to_upgrade_through() -> None:
    assert CONTACT.revisions() == ["0001", "0002", "0003", "0004", "0005", "0006"]


@each_service
def test_a_database_the_former_start_up_built_is_adopted_with_its_rows(
    name: str, postgres_url_base: str
) -> None:
    service = SERVICES[name]
    with empty_database(postgres_url_base) as url:
        with connected(url) as conn:  # what create_all at start-up used to do
            service.metadata.create_all(conn)
            seeded = seed_every_table(conn, service.migrations.version_table)
        service.migrations.upgrade(url)
        assert service.migrations.current(url) == service.migrations.head()
        with connected(url) as conn:
            for table in seeded:
                assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 1


@each_service
def test_a_database_behind_head_is_refused_in_one_line(name: str, postgres_url_base: str) -> None:
    migrations = SERVICES[name].migrations
    with empty_database(postgres_url_base) as url:
        with pytest.raises(SchemaBehind) as refused:
            migrations.check(url)
        message = str(refused.value)
        assert "\n" not in message
        assert f"run `{migrations.command}`" in message
        migrations.prepare(url, migrate=True)
        migrations.check(url)  # at head now


def test_a_service_will_not_start_on_an_unmigrated_database_until_migrate_runs(
    postgres_url_base: str,
) -> None:
    with empty_database(postgres_url_base) as url:
        env = {**os.environ, "DATABASE_URL": url, "MIGRATE_ON_START": "false", "LOG_JSON": "false"}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "legal_service", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        refused = run("daily-run")
        assert refused.returncode == 3
        [line] = refused.stderr.strip().splitlines()
        assert "run `python -m legal_service migrate` first" in line
        migrated = run("migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert LEGAL.current(url) == LEGAL.head()
