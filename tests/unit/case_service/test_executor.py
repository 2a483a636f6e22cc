"""The command writer needs only its narrow store (`CaseStore`): here an in-memory one."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from case_service.commands import (
    CaseNotFound,
    Command,
    IdempotencyClaim,
    IdempotencyConflict,
    Outcome,
)
from case_service.domain import CollectionCase
from case_service.executor import CommandExecutor
from case_service.persistence import IdempotencyRecord

from .helpers import NOW, given


class MemoryCases:
    def __init__(self, *cases: CollectionCase) -> None:
        self.cases = {case.id: case for case in cases}
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}
        self.saved_events: list[str] = []

    def read(
        self,
        claims: Sequence[tuple[str, str]],
        case_ids: Sequence[UUID],
        cached: Sequence[CollectionCase] = (),
    ) -> tuple[dict[tuple[str, str], IdempotencyRecord], dict[UUID, CollectionCase]]:
        records = {claim: self.records[claim] for claim in claims if claim in self.records}
        return records, {i: self.cases[i] for i in case_ids if i in self.cases}

    def save_idempotency(self, record: IdempotencyRecord) -> bool:
        return self.records.setdefault((record.scope, record.key), record) is record

    def save(
        self,
        cases: Sequence[CollectionCase],
        idempotency: Sequence[IdempotencyRecord],
        correlations: Sequence[tuple[UUID, int, str]],
    ) -> None:
        for case in cases:
            self.saved_events += [type(e).__name__ for e in case.collect_events()]
        for record in idempotency:
            self.records[(record.scope, record.key)] = record


@pytest.fixture
def store() -> MemoryCases:
    return MemoryCases(given())


@pytest.fixture
def executor(store: MemoryCases) -> Iterator[CommandExecutor]:
    writer = CommandExecutor(store)
    yield writer
    writer.close()


def miss(case: CollectionCase) -> None:
    case.record_missed_payment(
        installment=1, due_date=date(2026, 10, 1), amount=Decimal("1200.00"), now=NOW
    )


def test_a_command_is_saved_through_the_store_with_its_idempotency_record(
    store: MemoryCases, executor: CommandExecutor
) -> None:
    case_id = next(iter(store.cases))
    claim = IdempotencyClaim("POST /missed", "k-1", "h-1")

    outcome = executor.execute(Command(case_id, miss, idempotency=claim))

    assert outcome.error is None
    assert "PaymentMissed" in outcome.events
    assert store.saved_events == outcome.events
    assert store.records[("POST /missed", "k-1")].body["version"] == outcome.version


def test_a_repeated_key_is_answered_from_the_store_and_a_changed_request_is_refused(
    store: MemoryCases, executor: CommandExecutor
) -> None:
    case_id = next(iter(store.cases))
    first = executor.execute(Command(case_id, miss, idempotency=IdempotencyClaim("s", "k", "h")))

    again = executor.execute(Command(case_id, miss, idempotency=IdempotencyClaim("s", "k", "h")))
    changed = executor.execute(Command(case_id, miss, idempotency=IdempotencyClaim("s", "k", "x")))

    assert again.replayed
    assert again.version == first.version
    assert isinstance(changed.error, IdempotencyConflict)
    assert store.saved_events == first.events


def test_a_command_for_an_unknown_case_is_answered_not_found(executor: CommandExecutor) -> None:
    unknown = CollectionCase.id_for_loan("L-none")

    outcome = executor.execute(Command(unknown, miss))

    assert isinstance(outcome.error, CaseNotFound)


def test_awaiting_requests_get_their_own_outcomes_from_one_batch(
    store: MemoryCases, executor: CommandExecutor
) -> None:
    case_id = next(iter(store.cases))

    async def send_many() -> list[Outcome]:
        commands = [Command(case_id, miss) for _ in range(5)]
        return list(await asyncio.gather(*(executor.execute_async(c) for c in commands)))

    outcomes = asyncio.run(send_many())

    assert [o.case_id for o in outcomes] == [case_id] * 5
    assert all(o.error is None for o in outcomes)
    assert sum(len(o.events) for o in outcomes) == store.saved_events.count("PaymentMissed")


def test_a_fault_reaches_the_awaiting_request(
    store: MemoryCases, executor: CommandExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: object) -> None:
        raise ConnectionError("database down")

    monkeypatch.setattr(store, "read", down)

    async def send() -> None:
        await executor.execute_async(Command(next(iter(store.cases)), miss))

    with pytest.raises(ConnectionError, match="database down"):
        asyncio.run(send())


class CountingCases(MemoryCases):
    """Notes how many commands' events each save (one transaction) carried."""

    def __init__(self, *cases: CollectionCase) -> None:
        super().__init__(*cases)
        self.batches: list[int] = []

    def save(
        self,
        cases: Sequence[CollectionCase],
        idempotency: Sequence[IdempotencyRecord],
        correlations: Sequence[tuple[UUID, int, str]],
    ) -> None:
        self.batches.append(sum(len(case.pending_events) for case in cases))
        super().save(cases, idempotency, correlations)


def _miss(installment: int) -> Callable[[CollectionCase], None]:
    def step(case: CollectionCase) -> None:
        case.record_missed_payment(
            installment=installment,
            due_date=date(2026, 10, installment),
            amount=Decimal("1200.00"),
            now=NOW,
        )

    return step


miss_second, miss_third, miss_fourth = _miss(2), _miss(3), _miss(4)


def _commands_come_together(writer: CommandExecutor, case_id: UUID) -> None:
    """Brings the writer to where requests come together: a lone command that holds the
    writer until two more have queued, which it then commits as one batch."""
    release = threading.Event()

    def held(case: CollectionCase) -> None:
        release.wait(timeout=10)

    lone = writer._enqueue([Command(case_id, held)])
    while writer._queue.qsize():  # the writer has taken it (it does not linger yet)
        time.sleep(0.01)
    pair = [writer._enqueue([Command(case_id, step)]) for step in (miss, miss_second)]
    release.set()
    for queued in (lone, *pair):
        queued.result(timeout=10)


def test_while_commands_come_together_the_writer_waits_for_the_next_one() -> None:
    store = CountingCases(given())
    case_id = next(iter(store.cases))
    # A linger far longer than the test: a batch closes only because it is full (two).
    writer = CommandExecutor(store, max_batch=2, linger_seconds=600)
    try:
        _commands_come_together(writer, case_id)
        first = writer._enqueue([Command(case_id, miss_third)])
        while writer._queue.qsize():  # taken; the writer now waits for another
            time.sleep(0.01)
        second = writer._enqueue([Command(case_id, miss_fourth)])
        outcomes = [*first.result(timeout=10), *second.result(timeout=10)]
    finally:
        writer.close()

    assert [o.error for o in outcomes] == [None, None]
    # The lone first command went alone (nothing came together yet); the last two as one.
    assert store.batches == [2, 2]


def test_stopping_a_lingering_writer_still_commits_what_it_holds() -> None:
    store = CountingCases(given())
    case_id = next(iter(store.cases))
    writer = CommandExecutor(store, max_batch=10, linger_seconds=600)
    _commands_come_together(writer, case_id)
    queued = writer._enqueue([Command(case_id, miss_third)])
    while writer._queue.qsize():  # until the writer has taken it and lingers for more
        time.sleep(0.01)

    writer.close()

    assert [o.error for o in queued.result(timeout=10)] == [None]
    assert store.batches == [2, 1]
