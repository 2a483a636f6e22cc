"""Which cases the daily file keeps warm, and when it reads one afresh (warm.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from case_service.daily_file.warm import STALE_AFTER, TAIL_PER_CASE, WarmCases
from case_service.domain import CollectionCase
from eventsourcing.persistence import StoredEvent

from .helpers import NOW, open_case

DUE = date(2026, 1, 5)


class Store:
    """Stands in for the read: which versions were asked for; cases rebuilt from nothing.
    `append` also numbers the event in the store's log, which `tail` reads after an id."""

    def __init__(self) -> None:
        self.asked: list[dict[UUID, int]] = []
        self.events: dict[UUID, list[StoredEvent]] = {}
        self.log: list[StoredEvent] = []
        self.parities: list[int | None] = []  # what each tail asked for
        self.examined: list[list[tuple[int, int]]] = []  # ...and the ranges it skipped
        self.rows = 0  # the rows the tails returned

    def append(self, event: StoredEvent) -> None:
        assert isinstance(event.originator_id, UUID)
        self.events.setdefault(event.originator_id, []).append(event)
        self.log.append(event)

    def tail(
        self,
        after: int,
        limit: int,
        parity: int | None = None,
        examined: Sequence[tuple[int, int]] = (),
    ) -> tuple[list[tuple[Any, ...]] | None, int]:
        self.parities.append(parity)
        self.examined.append(list(examined))
        last = len(self.log)
        skipped = {i for first, end in examined for i in range(first, end + 1)}
        if last - after - len(skipped) > limit:
            return None, last
        # In no set order, as the store's: here, newest first. An event's id: its place.
        rows = [
            (last, _bytes(e), e.originator_version, e.topic, e.state)
            for i, e in enumerate(self.log[after:], start=after + 1)
            if (parity is None or _int(e) & 1 == parity) and i not in skipped
        ]
        self.rows += len(rows)
        return rows[::-1], last

    def read(self, known: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        self.asked.append(dict(known))
        return {
            case_id: [e for e in self.events.get(case_id, []) if e.originator_version > version]
            for case_id, version in known.items()
        }

    @staticmethod
    def replay(case: CollectionCase | None, records: Sequence[StoredEvent]) -> CollectionCase:
        return case if case is not None else open_case(loan_id=f"L-{len(records)}")


def _bytes(event: StoredEvent) -> bytes:
    assert isinstance(event.originator_id, UUID)
    return event.originator_id.bytes


def _int(event: StoredEvent) -> int:
    assert isinstance(event.originator_id, UUID)
    return event.originator_id.int


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


def _warm_at_2(warm: WarmCases, store: Store, case_id: UUID) -> StoredEvent:
    """The case taken (cold), one installment recorded on it and put back; its event."""
    case = warm.take([case_id], store.read, store.replay, store.tail)[case_id]
    case.record_missed_payment(installment=1, due_date=DUE, amount=Decimal("10.00"), now=NOW)
    recorded = StoredEvent(case_id, 2, "PaymentMissed", b"sealed-1")
    warm.put_back({case_id: case}, [recorded])
    return recorded


def test_a_case_followed_in_the_tail_is_not_read_again() -> None:
    warm, store = WarmCases(), Store()
    case_id, other = UUID(int=9), UUID(int=10)
    recorded = _warm_at_2(warm, store, case_id)
    store.append(StoredEvent(other, 1, "CaseOpened", b"another case"))
    store.append(recorded)  # its own append, committed
    asked = len(store.asked)

    case = warm.take([case_id], store.read, store.replay, store.tail)[case_id]

    assert len(store.asked) == asked  # not read: the tail showed its very event
    assert case.version == 2
    warm.put_back({case_id: case}, [])
    warm.take([case_id], store.read, store.replay, store.tail)
    assert len(store.asked) == asked  # nor the time after


def test_a_case_is_read_when_its_chunk_was_never_appended_or_another_writer_came_first() -> None:
    warm, store = WarmCases(), Store()
    case_id = UUID(int=11)
    recorded = _warm_at_2(warm, store, case_id)
    warm.put_back(warm.take([case_id], store.read, store.replay, store.tail), [recorded])
    assert store.asked[-2:] == [{case_id: 1}, {case_id: 0}]  # never appended: read afresh

    recorded = _warm_at_2(warm, store, case_id)
    store.append(StoredEvent(case_id, 2, "PaymentMissed", b"sealed-by-another"))
    warm.take([case_id], store.read, store.replay, store.tail)
    assert store.asked[-2:] == [{case_id: 1}, {case_id: 0}]  # version 2 is not its event


def test_another_writers_event_after_a_confirmed_case_has_it_read() -> None:
    warm, store = WarmCases(), Store()
    case_id = UUID(int=12)
    recorded = _warm_at_2(warm, store, case_id)
    store.append(recorded)
    warm.put_back(warm.take([case_id], store.read, store.replay, store.tail), [])
    asked = len(store.asked)

    store.append(StoredEvent(case_id, 3, "PaymentReceived", b"a command's"))
    warm.take([case_id], store.read, store.replay, store.tail)

    assert store.asked[asked:] == [{case_id: 2}]  # what came after version 2


def test_a_case_out_while_another_writer_appends_to_it_is_read_the_next_time() -> None:
    warm, store = WarmCases(), Store()
    case_id, other = UUID(int=13), UUID(int=14)
    store.append(_warm_at_2(warm, store, case_id))
    warm.put_back(warm.take([other], store.read, store.replay, store.tail), [])
    warm.put_back(warm.take([case_id, other], store.read, store.replay, store.tail), [])
    case = warm.take([case_id], store.read, store.replay, store.tail)[case_id]  # out...
    store.append(StoredEvent(case_id, 3, "PaymentReceived", b"a command's"))
    warm.put_back(warm.take([other], store.read, store.replay, store.tail), [])  # ...seen here
    warm.put_back({case_id: case}, [])
    asked = len(store.asked)

    warm.take([case_id], store.read, store.replay, store.tail)

    assert store.asked[asked:] == [{case_id: 2}]


def test_a_tail_too_long_or_gone_back_has_every_case_read() -> None:
    warm, store = WarmCases(), Store()
    case_id = UUID(int=15)
    store.append(_warm_at_2(warm, store, case_id))
    warm.put_back(warm.take([case_id], store.read, store.replay, store.tail), [])
    asked = len(store.asked)
    # More events than the cases held are worth (others' writes): not read, nor examined.
    store.log += [StoredEvent(UUID(int=16), 1, "CaseOpened", b"")] * (TAIL_PER_CASE + 1)

    warm.put_back(warm.take([case_id], store.read, store.replay, store.tail), [])
    assert store.asked[asked:] == [{case_id: 2}]  # not examined: read

    warm.put_back(warm.take([case_id], store.read, store.replay, store.tail), [])
    assert len(store.asked) == asked + 1  # watched again from there
    del store.log[-5:]  # the store went back (a restore): nothing held is trusted
    warm.take([case_id], store.read, store.replay, store.tail)
    assert len(store.asked) == asked + 2


def test_cases_read_cold_after_a_tail_are_followed_from_it() -> None:
    warm, store = WarmCases(), Store()
    first, second = UUID(int=17), UUID(int=18)
    store.append(_warm_at_2(warm, store, first))  # the tail starts here
    recorded = _warm_at_2(warm, store, second)  # nothing held: read, no tail of its own
    store.append(recorded)
    asked = len(store.asked)

    warm.take([first, second], store.read, store.replay, store.tail)

    assert len(store.asked) == asked  # both followed since: neither read


def test_a_process_holding_cases_of_one_parity_follows_only_their_events() -> None:
    # A daily file worker (cases by id modulo two): its tail leaves out the other cases'
    # events, and still follows its own.
    warm, store = WarmCases(), Store()
    case_id, neighbour = UUID(int=20), UUID(int=22)
    store.append(_warm_at_2(warm, store, case_id))
    store.append(StoredEvent(UUID(int=21), 1, "CaseOpened", b"another worker's case"))
    warm.put_back(warm.take([neighbour], store.read, store.replay, store.tail), [])
    asked = len(store.asked)

    warm.take([case_id], store.read, store.replay, store.tail)

    assert store.parities[-1] == 0
    assert len(store.asked) == asked  # followed: its own event confirmed, nothing read


def test_a_process_holding_cases_of_both_parities_follows_every_event() -> None:
    warm, store = WarmCases(), Store()
    case_id, other = UUID(int=30), UUID(int=31)
    store.append(_warm_at_2(warm, store, case_id))
    warm.put_back(warm.take([other], store.read, store.replay, store.tail), [])
    store.append(StoredEvent(other, 2, "PaymentReceived", b"a command's"))
    asked = len(store.asked)

    warm.take([case_id, other], store.read, store.replay, store.tail)

    assert store.parities[-1] is None
    assert store.asked[asked:] == [{other: 1}]  # its event seen in the tail: read


def test_a_case_of_the_other_parity_taken_during_a_tail_has_every_case_read() -> None:
    # That tail left out the events of the case taken meanwhile: it counts as not examined.
    warm, store = WarmCases(), Store()
    case_id, odd = UUID(int=40), UUID(int=41)
    store.append(_warm_at_2(warm, store, case_id))
    warm.put_back(warm.take([case_id], store.read, store.replay, store.tail), [])

    def tail(after: int, limit: int, parity: int | None, examined: Any) -> tuple[Any, int]:
        if parity is not None:  # another request takes the odd case meanwhile...
            warm.put_back(warm.take([odd], store.read, store.replay, store.tail), [])
            store.append(StoredEvent(odd, 2, "PaymentReceived", b"after its read"))
        return store.tail(after, limit, parity, examined)  # ...whose event it leaves out

    warm.put_back(warm.take([case_id], store.read, store.replay, tail), [])
    asked = len(store.asked)
    warm.take([case_id, odd], store.read, store.replay, store.tail)

    assert store.parities[-2:] == [0, None]
    assert store.asked[asked:] == [{odd: 1}]  # not followed: read, its event found


def _part(warm: WarmCases, store: Store, *case_ids: UUID) -> list[StoredEvent]:
    """The cases (held, followed) taken, an installment recorded on each, put back: the
    part's events, not yet appended."""
    cases = warm.take(case_ids, store.read, store.replay, store.tail)
    events = []
    for case_id, case in cases.items():
        case.record_missed_payment(installment=9, due_date=DUE, amount=Decimal("1.00"), now=NOW)
        events.append(StoredEvent(case_id, case.version, "PaymentMissed", case_id.bytes))
    warm.put_back(cases, events)
    return events


def _appended(store: Store, events: list[StoredEvent]) -> list[tuple[int, int]]:
    """The events appended in one go; the range of ids they took."""
    first = len(store.log) + 1
    for event in events:
        store.append(event)
    return [(first, len(store.log))]


def _held(warm: WarmCases, store: Store, *case_ids: UUID) -> None:
    for case_id in case_ids:
        store.append(_warm_at_2(warm, store, case_id))
    warm.put_back(warm.take(case_ids, store.read, store.replay, store.tail), [])


def test_a_part_confirmed_with_its_ids_is_neither_read_in_the_tail_nor_per_case() -> None:
    warm, store = WarmCases(), Store()
    a, b, c = UUID(int=50), UUID(int=51), UUID(int=52)
    _held(warm, store, a, b, c)
    first = _part(warm, store, a, b)
    store.append(StoredEvent(c, 3, "PaymentReceived", b"another writer's"))  # between them
    second = _part(warm, store, c)  # taken after its tail: the event above is in it
    stored_at = [*_appended(store, first), *_appended(store, second)]
    warm.confirm(first, stored_at[:1])
    warm.confirm(second, stored_at[1:])
    asked, rows = len(store.asked), store.rows

    cases = warm.take([a, b, c], store.read, store.replay, store.tail)

    assert store.examined[-1] == [(stored_at[0][0], stored_at[1][1])]  # adjacent: merged
    assert store.rows == rows  # nothing of theirs read back
    assert len(store.asked) == asked  # and no case read: all followed
    assert [cases[i].version for i in (a, b, c)] == [3, 3, 3]  # each with its own event


def test_the_tail_reads_the_gaps_between_confirmed_parts_and_acts_on_them() -> None:
    warm, store = WarmCases(), Store()
    a, b, c = UUID(int=60), UUID(int=61), UUID(int=62)
    _held(warm, store, a, b, c)
    first, second = _part(warm, store, a), _part(warm, store, b)
    stored_first = _appended(store, first)
    store.append(StoredEvent(c, 3, "PaymentReceived", b"another writer's"))  # a gap
    stored_second = _appended(store, second)
    warm.confirm(second, stored_second)  # out of order: ranges are kept in order
    warm.confirm(first, stored_first)
    asked, rows = len(store.asked), store.rows

    cases = warm.take([a, b, c], store.read, store.replay, store.tail)

    assert store.examined[-1] == [*stored_first, *stored_second]
    assert store.rows == rows + 1  # the gap only
    assert store.asked[asked:] == [{c: 2}]  # whose case is read: another writer's event
    warm.put_back(cases, [])
    warm.take([a], store.read, store.replay, store.tail)
    assert store.examined[-1] == []  # passed: no range kept below the tail


def test_a_late_confirmation_changes_nothing_and_a_wrong_count_marks_nothing() -> None:
    warm, store = WarmCases(), Store()
    a, b = UUID(int=70), UUID(int=71)
    _held(warm, store, a, b)
    events = _part(warm, store, a)
    stored_at = _appended(store, events)
    warm.put_back(warm.take([b], store.read, store.replay, store.tail), [])  # the tail first
    warm.confirm(events, stored_at)  # ...then the message: at or below what it examined
    later = _part(warm, store, b)
    stored_later = _appended(store, later)
    warm.confirm(later, [(stored_later[0][0], stored_later[0][1] + 1)])  # not its ids
    asked, rows = len(store.asked), store.rows

    cases = warm.take([a, b], store.read, store.replay, store.tail)

    assert store.examined[-1] == []
    assert store.rows == rows + 1  # b's event, read as before the messages
    assert len(store.asked) == asked  # both followed all the same
    assert (cases[a].version, cases[b].version) == (3, 3)


def test_a_part_with_an_entry_taken_out_meanwhile_is_left_to_the_tail() -> None:
    warm, store = WarmCases(), Store()
    a, b = UUID(int=80), UUID(int=81)
    _held(warm, store, a, b)
    events = _part(warm, store, a, b)
    stored_at = _appended(store, events)
    out = warm.take([a], store.read, store.replay)  # another request has it out (no tail)
    warm.confirm(events, stored_at)  # b's entry is confirmed; a's is out: no range marked
    warm.put_back(out, [])
    asked, rows = len(store.asked), store.rows

    warm.take([a, b], store.read, store.replay, store.tail)

    assert store.examined[-1] == []
    assert store.rows == rows + 2  # the part read back in the tail
    assert store.asked[asked:] == [{a: 3}]  # a, put back unfollowed, read; b followed


def test_a_part_never_appended_is_never_confirmed_by_the_tail() -> None:
    warm, store = WarmCases(), Store()
    a = UUID(int=90)
    _held(warm, store, a)
    _part(warm, store, a)  # prepared, never appended, never confirmed
    store.append(StoredEvent(a, 3, "PaymentMissed", b"another writer's, at that version"))
    asked = len(store.asked)

    warm.take([a], store.read, store.replay, store.tail)

    assert store.asked[asked:] == [{a: 2}, {a: 0}]  # the store refutes the entry: read afresh
