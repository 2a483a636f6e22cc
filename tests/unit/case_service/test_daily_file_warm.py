"""Which cases the daily file keeps warm, and when it reads one afresh (warm.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

from case_service.daily_file.warm import STALE_AFTER, WarmCases
from case_service.domain import CollectionCase
from eventsourcing.persistence import StoredEvent

from .helpers import NOW, open_case

DUE = date(2026, 1, 5)


class Store:
    """Stands in for the read: which versions were asked for; cases rebuilt from nothing."""

    def __init__(self) -> None:
        self.asked: list[dict[UUID, int]] = []
        self.events: dict[UUID, list[StoredEvent]] = {}

    def read(self, known: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        self.asked.append(dict(known))
        return {
            case_id: [e for e in self.events.get(case_id, []) if e.originator_version > version]
            for case_id, version in known.items()
        }

    @staticmethod
    def replay(case: CollectionCase | None, records: Sequence[StoredEvent]) -> CollectionCase:
        return case if case is not None else open_case(loan_id=f"L-{len(records)}")


def test_a_full_cache_keeps_the_cases_it_holds_rather_than_cycling_them_out() -> None:
    now = [0.0]
    warm, store = WarmCases(limit=2, clock=lambda: now[0]), Store()
    a, b, c = (UUID(int=n) for n in (1, 2, 3))
    for _ in range(2):
        cases = warm.take([a, b, c], store.read, store.replay)
        warm.put_back(cases, [])

    assert store.asked[1] == {a: 1, b: 1, c: 0}  # a and b warm the second time; c cold
    now[0] += STALE_AFTER + 1  # a and b rest; c comes back
    warm.put_back(warm.take([c], store.read, store.replay), [])
    warm.take([a, b, c], store.read, store.replay)
    assert store.asked[-1] == {a: 0, b: 1, c: 1}  # c took the place of a, the least recent


def test_a_case_is_read_afresh_unless_the_store_holds_what_its_chunk_recorded() -> None:
    warm, store = WarmCases(), Store()
    case_id = UUID(int=7)
    case = warm.take([case_id], store.read, store.replay)[case_id]
    case.record_missed_payment(installment=1, due_date=DUE, amount=Decimal("10.00"), now=NOW)
    recorded = StoredEvent(case_id, 2, "PaymentMissed", b"sealed-1")  # the case at 2
    warm.put_back({case_id: case}, [recorded])

    warm.take([case_id], store.read, store.replay)  # never appended
    assert store.asked[-2:] == [{case_id: 1}, {case_id: 0}]

    warm.put_back({case_id: case}, [recorded])
    store.events[case_id] = [StoredEvent(case_id, 2, "PaymentMissed", b"sealed-2")]
    warm.take([case_id], store.read, store.replay)  # another append took version 2
    assert store.asked[-2:] == [{case_id: 1}, {case_id: 0}]

    warm.put_back({case_id: case}, [recorded])
    store.events[case_id] = [recorded]
    warm.take([case_id], store.read, store.replay)  # appended: warm
    assert store.asked[-1] == {case_id: 1}


def test_events_confirmed_as_committed_are_not_read_back_and_others_change_nothing() -> None:
    warm, store = WarmCases(), Store()
    case_id = UUID(int=8)
    case = warm.take([case_id], store.read, store.replay)[case_id]
    case.record_missed_payment(installment=1, due_date=DUE, amount=Decimal("10.00"), now=NOW)
    recorded = StoredEvent(case_id, 2, "PaymentMissed", b"sealed-1")
    warm.put_back({case_id: case}, [recorded])

    warm.confirm([StoredEvent(case_id, 2, "PaymentMissed", b"sealed-1")])  # equal, not these
    store.events[case_id] = [recorded]
    warm.put_back(warm.take([case_id], store.read, store.replay), [])
    assert store.asked[-1] == {case_id: 1}  # still compared with what the store holds

    case = warm.take([case_id], store.read, store.replay)[case_id]
    case.record_missed_payment(installment=2, due_date=DUE, amount=Decimal("10.00"), now=NOW)
    second = StoredEvent(case_id, 3, "PaymentMissed", b"sealed-2")
    warm.put_back({case_id: case}, [second])
    warm.confirm([second])  # the append of these very events committed
    warm.take([case_id], store.read, store.replay)
    assert store.asked[-1] == {case_id: 3}  # only what came after them
