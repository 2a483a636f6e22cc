"""What the daily file sends to and from its worker processes arrives as it left."""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal
from uuid import uuid4

from case_service.commands import CaseNotFound, Outcome
from case_service.daily_file import MissedInstallment, Prepared
from case_service.daily_file.items import packed, unpacked
from case_service.domain import InvalidCommand
from eventsourcing.persistence import StoredEvent


def test_items_arrive_with_the_same_values_types_and_places() -> None:
    items = [
        MissedInstallment(uuid4(), 3, date(2026, 1, 31), Decimal("100.00")),
        MissedInstallment(uuid4(), 1000, date(1999, 12, 1), Decimal("5"), currency="CNY"),
        MissedInstallment(uuid4(), 2, date(2026, 2, 1), Decimal("-0.10"), currency="USD"),
        MissedInstallment(uuid4(), 2, date(2026, 2, 1), 7),  # type: ignore[arg-type]
    ]

    arrived = unpacked(pickle.loads(pickle.dumps(packed(items))))

    assert arrived == items
    assert [str(i.amount) for i in arrived] == ["100.00", "5", "-0.10", "7"]
    assert [type(i.amount) for i in arrived] == [Decimal, Decimal, Decimal, int]


def test_a_prepared_chunk_arrives_with_its_outcomes_errors_and_events() -> None:
    known, unknown = uuid4(), uuid4()
    prepared = Prepared(
        [
            Outcome(known, version=4, events=["PaymentMissed"], recorded_versions=[4]),
            Outcome(known, version=4, error=InvalidCommand("too large", field="amount")),
            Outcome(unknown, error=CaseNotFound(unknown)),
        ],
        [StoredEvent(known, 4, "case_service.domain.events:PaymentMissed", b"\x00sealed")],
    )

    arrived = Prepared.arrived(pickle.loads(pickle.dumps(prepared.portable())))

    assert arrived.events == prepared.events
    assert [(o.case_id, o.version, o.events, o.recorded_versions) for o in arrived.outcomes] == [
        (known, 4, ["PaymentMissed"], [4]),
        (known, 4, [], []),
        (unknown, 0, [], []),
    ]
    invalid, missing = arrived.outcomes[1].error, arrived.outcomes[2].error
    assert isinstance(invalid, InvalidCommand)
    assert (str(invalid), invalid.field) == ("too large", "amount")
    assert isinstance(missing, CaseNotFound)
    assert str(missing) == str(CaseNotFound(unknown))
