"""The writer's links (computed by the database in the events' INSERT, audit/chain.py) are
byte for byte those of the one definition every verifier uses (audit/canonical.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from arrears.clock import Clock
from case_service.application import CaseApplication
from case_service.audit.canonical import GENESIS, event_hash
from case_service.domain import CollectionCase

from .conftest import open_fields


def _miss(case: CollectionCase, installment: int, clock: Clock) -> None:
    case.record_missed_payment(
        installment=installment,
        due_date=date(2026, installment, 1),
        amount=Decimal("1200.00"),
        now=clock.now(),
    )


def test_links_made_in_the_database_match_the_canonical_definition(
    cases: CaseApplication, clock: Clock
) -> None:
    case = CollectionCase.open(**open_fields("L-LINKS"), now=clock.now(), policy=cases.policy)
    for installment in (1, 2, 3):
        _miss(case, installment, clock)
    # several events of one case in one statement: each links to the last
    recordings = cases.save(case)
    _miss(case, 4, clock)
    recordings += cases.save(case)  # and the next transaction links to the stored last hash
    other = CollectionCase.open(**open_fields("L-LINKS-2"), now=clock.now(), policy=cases.policy)
    third = CollectionCase.open(**open_fields("L-LINKS-3"), now=clock.now(), policy=cases.policy)
    cases.save(third)
    _miss(case, 5, clock)
    _miss(other, 1, clock)
    _miss(third, 1, clock)
    recordings += cases.save(third, case, other)  # two events of a case, one of another
    _miss(case, 6, clock)
    _miss(other, 2, clock)
    recordings += cases.save(other, case)  # one event of each case (no recursion)

    # The notification ids the INSERT returned are those of the events it was given.
    with cases.recorder_.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT originator_id, originator_version, notification_id FROM cases_events")
        stored = {(r["originator_id"], r["originator_version"]): r["notification_id"] for r in curs}
    for recording in recordings:
        event = recording.domain_event
        assert recording.notification.id == stored[(event.originator_id, event.originator_version)]

    for case_id in (case.id, other.id):
        with cases.recorder_.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT originator_version, topic, state, notification_id, recorded_at, hash "
                "FROM cases_events WHERE originator_id = %s ORDER BY originator_version",
                (case_id,),
            )
            rows = curs.fetchall()
        assert [row["originator_version"] for row in rows] == list(range(1, len(rows) + 1))
        prev = GENESIS
        notification_ids = [row["notification_id"] for row in rows]
        assert notification_ids == sorted(notification_ids)  # versions in notification order
        for row in rows:
            expected = event_hash(
                prev,
                case_id,
                row["originator_version"],
                row["topic"],
                bytes(row["state"]),
                row["recorded_at"],
            )
            assert bytes(row["hash"]) == expected, row["originator_version"]
            prev = expected
    assert len(rows) >= 2
