"""Migration 0003 moves a store's chain from `event_hashes` into the events' rows: the same
hashes and recorded times, so chains and signed checkpoints made before still verify, and
the chain goes on from them. Its downgrade rebuilds `event_hashes` (the former layout)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from alembic import command
from case_service.application import CaseApplication
from case_service.audit.canonical import GENESIS
from case_service.audit.note import SignerKey
from case_service.audit.store import AuditStore
from case_service.audit.verify import verify_store
from case_service.checkpointer.runner import Checkpointer
from case_service.commands import Command
from case_service.migrations import MIGRATIONS
from case_service.settings import CaseServiceSettings
from psycopg.rows import dict_row


def _rows(url: str, statement: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(statement).fetchall()  # type: ignore[arg-type]


def test_a_chain_kept_in_event_hashes_moves_into_the_events_rows_and_still_verifies(
    portfolio: Callable[..., list[UUID]],
    cases: CaseApplication,
    checkpointer: Checkpointer,
    case_settings: CaseServiceSettings,
    signer: SignerKey,
) -> None:
    ids = portfolio(loans=3, missed=2)
    checkpointer.resume()
    assert checkpointer.step() is not None
    chain = "SELECT originator_id, originator_version, recorded_at, hash FROM cases_events "
    url = case_settings.database_url
    before = _rows(url, chain + "ORDER BY notification_id")
    cases.close()

    # Back to the former layout: the chain in event_hashes, no columns in the events' rows.
    command.downgrade(MIGRATIONS.config(url), "0002")
    former = _rows(
        url,
        "SELECT originator_id, originator_version, recorded_at, prev_hash, hash "
        "FROM event_hashes ORDER BY notification_id",
    )
    columns = _rows(
        url,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'cases_events' AND column_name IN ('recorded_at', 'hash')",
    )
    assert [{k: r[k] for k in ("originator_id", "recorded_at", "hash")} for r in former] == [
        {k: r[k] for k in ("originator_id", "recorded_at", "hash")} for r in before
    ]
    assert sum(bytes(r["prev_hash"]) == GENESIS for r in former) == 3  # each case's first
    assert columns == []

    MIGRATIONS.upgrade(url)
    after = _rows(url, chain + "ORDER BY notification_id")
    kept = _rows(url, "SELECT to_regclass('event_hashes') AS found")
    app = CaseApplication(case_settings)
    try:
        report = verify_store(AuditStore(app.recorder_), signer.verifier)

        def miss(case: Any) -> None:
            case.record_missed_payment(
                installment=3,
                due_date=(app.clock.now() - timedelta(days=10)).date(),
                amount=Decimal("1200.00"),
                now=app.clock.now(),
            )

        outcome = app.execute(Command(ids[0], miss))  # the chain goes on from a moved hash
        assert outcome.error is None, outcome
        later = verify_store(AuditStore(app.recorder_), signer.verifier)
    finally:
        app.close()

    assert after == before
    assert kept == [{"found": None}]
    assert report.finding is None
    assert (report.events, report.checkpoints) == (9, 1)
    assert later.finding is None
    assert later.events == 10
