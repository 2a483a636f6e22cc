"""What the daily file sends to and from its worker processes arrives as it left."""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal
from uuid import UUID, uuid4

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


def test_ids_kept_between_parts_are_reused_and_the_rest_built() -> None:
    known, new = uuid4(), uuid4()
    ids: dict[bytes, UUID] = {}
    first = unpacked(packed([MissedInstallment(known, 1, date(2026, 1, 1), Decimal("1"))]), ids)

    later = unpacked(
        packed(
            [
                MissedInstallment(UUID(str(known)), 2, date(2026, 2, 1), Decimal("1")),
                MissedInstallment(new, 1, date(2026, 2, 1), Decimal("1")),
            ]
        ),
        ids,
    )

    assert [i.case_id for i in later] == [known, new]
    assert later[0].case_id is first[0].case_id  # the same object, not built again
    assert set(ids) == {known.bytes, new.bytes}


def test_a_prepared_chunk_arrives_with_its_outcomes_errors_and_events() -> None:
    known, unknown = uuid4(), uuid4()
    # The items the chunk answers, in the order sent: each outcome is its item's case's.
    items = [
        MissedInstallment(known, 4, date(2026, 1, 31), Decimal("100.00")),
        MissedInstallment(known, 5, date(2026, 1, 31), Decimal("9E+9")),
        MissedInstallment(unknown, 1, date(2026, 1, 31), Decimal("100.00")),
    ]
    prepared = Prepared(
        [
            Outcome(known, version=4, events=["PaymentMissed"], recorded_versions=[4]),
            Outcome(known, version=4, error=InvalidCommand("too large", field="amount")),
            Outcome(unknown, error=CaseNotFound(unknown)),
        ],
        [StoredEvent(known, 4, "case_service.domain.events:PaymentMissed", b"\x00sealed")],
    )

    arrived = Prepared.arrived(pickle.loads(pickle.dumps(prepared.portable())), items)

    # The events travel and are appended as columns, the case id as its text (the form the
    # append sends); the rest as it was.
    assert arrived.events == []
    assert arrived.has_events
    assert (
        arrived.appendable
        == prepared.appendable
        == (
            [str(known)],
            [4],
            ["case_service.domain.events:PaymentMissed"],
            [b"\x00sealed"],
        )
    )
    assert arrived.case_ids == prepared.case_ids == {known}
    assert next(iter(arrived.case_ids)) is known  # the item's own id, not one built again
    assert (prepared.here, arrived.here) == (True, False)
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


def test_the_usual_outcome_travels_as_its_version_and_its_near_misses_whole() -> None:
    ids = [uuid4() for _ in range(5)]
    items = [MissedInstallment(i, 2, date(2026, 1, 31), Decimal("1.00")) for i in ids]
    outcomes = [
        Outcome(ids[0], version=7, events=["PaymentMissed"], recorded_versions=[7]),
        Outcome(ids[1], version=8, events=["PaymentMissed"], recorded_versions=[7]),
        Outcome(ids[2], version=8, events=["PaymentMissed", "BucketChanged"], recorded_versions=[7, 8]),
        Outcome(ids[3], version=3, events=["BucketChanged"], recorded_versions=[3]),
        Outcome(ids[4], version=3),  # reported before: nothing new
    ]  # fmt: skip

    packed = pickle.loads(pickle.dumps(Prepared(outcomes).portable()))
    arrived = Prepared.arrived(packed, items)

    assert packed[0][0] == 7
    assert all(type(answer) is tuple for answer in packed[0][1:])
    assert [(o.case_id, o.version, o.events, o.recorded_versions, o.error) for o in arrived.outcomes] == [
        (o.case_id, o.version, o.events, o.recorded_versions, o.error) for o in outcomes
    ]  # fmt: skip
    assert arrived.case_ids == set(ids[:4])
    assert arrived.appendable == ([], [], [], [])
    assert not arrived.has_events
