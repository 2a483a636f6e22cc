"""Migration 0004 keeps the daily file's correlation ids in the events' own rows. Going back
to 0003 moves them into `event_correlations` (the former layout) and drops the column;
upgrading again adds it back, and every event still reads with the id it was recorded with,
from whichever place holds it. No event's bytes or hash change on the way."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
from alembic import command
from arrears.clock import Clock
from arrears.logging import reset_correlation_id, set_correlation_id
from case_service.application import CaseApplication
from case_service.daily_file import MissedInstallment
from case_service.migrations import MIGRATIONS
from case_service.relay.store import RelayStore
from case_service.settings import CaseServiceSettings
from psycopg.rows import dict_row

from .conftest import open_fields

_EVENTS = "SELECT originator_id, originator_version, state, hash FROM cases_events ORDER BY 1, 2"


def _rows(url: str, statement: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(statement).fetchall()  # type: ignore[arg-type]


def _correlations(app: CaseApplication) -> dict[tuple[str, int], str | None]:
    return {(r[1], r[2]): r[5] for r in RelayStore(app.recorder_).rows_between(0, 10**9)}


def test_the_file_s_correlation_ids_survive_a_downgrade_and_an_upgrade(
    cases: CaseApplication, clock: Clock, case_settings: CaseServiceSettings
) -> None:
    token = set_correlation_id("corr-open")
    try:
        ids = [cases.open_case(**open_fields(f"L-M{n}"))[0].id for n in range(2)]
    finally:
        reset_correlation_id(token)
    due = cases.today() - timedelta(days=40)
    token = set_correlation_id("corr-file")
    try:
        cases.record_missed_installments(
            [MissedInstallment(case_id, 1, due, Decimal("1200.00")) for case_id in ids],
            clock.now(),
        )
    finally:
        reset_correlation_id(token)
    before = _correlations(cases)
    url = case_settings.database_url
    events = _rows(url, _EVENTS)
    cases.close()

    command.downgrade(MIGRATIONS.config(url), "0003")
    moved = _rows(url, "SELECT correlation_id FROM event_correlations ORDER BY 1")
    columns = _rows(
        url,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'cases_events' AND column_name = 'correlation_id'",
    )
    MIGRATIONS.upgrade(url)
    app = CaseApplication(case_settings)
    try:
        after = _correlations(app)
    finally:
        app.close()

    assert sorted(before.values()) == ["corr-file"] * 2 + ["corr-open"] * 2
    assert [r["correlation_id"] for r in moved] == ["corr-file"] * 2 + ["corr-open"] * 2
    assert columns == []
    assert after == before
    assert _rows(url, _EVENTS) == events
