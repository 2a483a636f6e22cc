"""The daily file's bulk path: what it writes reads back, verifies and survives other writers
exactly as the same items sent one by one through the command writer would."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from arrears.clock import Clock
from arrears.heap import GEN0_THRESHOLD
from arrears.logging import reset_correlation_id, set_correlation_id
from case_service.application import CaseApplication
from case_service.audit.note import SignerKey
from case_service.audit.store import AuditStore
from case_service.audit.verify import verify_store
from case_service.checkpointer.runner import Checkpointer
from case_service.commands import Command, Outcome
from case_service.daily_file import MissedInstallment, as_command
from case_service.daily_file import bulk as bulk_module
from case_service.daily_file import workers as workers_module
from case_service.daily_file.workers import NICENESS
from case_service.domain import CollectionCase
from case_service.relay.store import RelayStore
from case_service.settings import CaseServiceSettings

from .conftest import open_fields


def _open(cases: CaseApplication, *loans: str) -> list[UUID]:
    return [cases.open_case(**open_fields(loan))[0].id for loan in loans]


def _file(case_id: UUID, today: date) -> list[MissedInstallment]:
    """Three new installments, one resent, one in the wrong currency, one too large."""
    due = [today - timedelta(days=40 - n) for n in range(3)]
    return [
        MissedInstallment(case_id, 1, due[0], Decimal("1200.00")),
        MissedInstallment(case_id, 2, due[1], Decimal("1200.00"), currency="CNY"),
        MissedInstallment(case_id, 1, due[0], Decimal("1200.00")),
        MissedInstallment(case_id, 3, due[2], Decimal("5.00"), currency="USD"),
        MissedInstallment(case_id, 3, due[2], Decimal("100000.01")),
        MissedInstallment(case_id, 3, due[2], Decimal("800.50")),
    ]


def _answer(outcome: Outcome) -> tuple[Any, ...]:
    error = outcome.error
    return (
        outcome.version,
        outcome.events,
        outcome.recorded_versions,
        None if error is None else (type(error).__name__, str(error)),
    )


def _after_opening(cases: CaseApplication, case_id: UUID) -> list[tuple[Any, ...]]:
    """The case's events after CaseOpened, without what names the case."""
    return [
        (type(e).__name__, e.originator_version, {k: v for k, v in vars(e).items() if k != "originator_id"})
        for e in cases.history(case_id)
        if e.originator_version > 1
    ]  # fmt: skip


def _view(cases: CaseApplication, case_id: UUID, today: date) -> dict[str, Any]:
    view = cases.case(case_id).view(today)
    for name in ("case_id", "loan_id"):
        view.pop(name)
    return view


def test_a_file_in_bulk_leaves_each_case_as_the_same_commands_do(
    cases: CaseApplication, clock: Clock
) -> None:
    bulk, one_by_one = _open(cases, "L-BULK", "L-BULK-2"), _open(cases, "L-CMD", "L-CMD-2")
    now = clock.now()
    today = cases.today()

    in_bulk = cases.record_missed_installments(
        [item for case_id in bulk for item in _file(case_id, today)], now
    )
    by_command = cases.execute_all(
        [as_command(item, now, None) for case_id in one_by_one for item in _file(case_id, today)]
    )

    assert [_answer(o) for o in in_bulk] == [_answer(o) for o in by_command]
    assert [o.error is None for o in in_bulk] == [True, True, True, False, False, True] * 2
    for mine, theirs in zip(bulk, one_by_one, strict=True):
        assert _after_opening(cases, mine) == _after_opening(cases, theirs)
        assert _view(cases, mine, today) == _view(cases, theirs, today)
    resent = cases.record_missed_installments(
        [item for case_id in bulk for item in _file(case_id, today)], now
    )
    assert [o.events for o in resent] == [[]] * 12
    assert cases.case(bulk[0]).version == 4


def test_a_case_with_a_snapshot_loads_in_bulk_in_a_fresh_process(
    cases: CaseApplication, case_settings: CaseServiceSettings, clock: Clock
) -> None:
    (case_id,) = _open(cases, "L-SNAP")
    today = cases.today()
    earlier = [
        MissedInstallment(case_id, n, today - timedelta(days=100 - n), Decimal("10.00"))
        for n in range(1, 13)
    ]
    assert all(
        o.error is None
        for o in cases.execute_all([as_command(i, clock.now(), None) for i in earlier])
    )
    fresh = CaseApplication(case_settings, clock=clock)  # no subject key cached yet
    try:
        outcomes = fresh.record_missed_installments(
            [MissedInstallment(case_id, 13, today - timedelta(days=5), Decimal("10.00"))],
            clock.now(),
        )
        assert (outcomes[0].error, outcomes[0].version) == (None, 14)
        case = fresh.case(case_id)
        assert case.borrower["name"] == "Li Wei"  # personal data opens as ever
        assert case.arrears_on(today) == Decimal("130.00")
    finally:
        fresh.close()


def test_a_warm_case_is_not_trusted_for_events_its_chunk_never_appended(
    cases: CaseApplication, clock: Clock
) -> None:
    (case_id,) = _open(cases, "L-WARM")
    today = cases.today()
    unappended = cases._daily_file.prepare(_file(case_id, today), clock.now())
    assert len(unappended.events) == 3  # recorded on the warm case, never appended

    outcomes = cases.record_missed_installments(_file(case_id, today), clock.now())

    assert [o.recorded_versions for o in outcomes] == [[2], [3], [], [], [], [4]]
    assert [getattr(e, "installment", None) for e in cases.history(case_id)][1:] == [1, 2, 3]


def test_a_warm_case_catches_up_with_what_other_writers_recorded(
    cases: CaseApplication, clock: Clock, missed_command: Callable[..., Outcome]
) -> None:
    (case_id,) = _open(cases, "L-WARM-2")
    today = cases.today()
    cases.record_missed_installments(_file(case_id, today), clock.now())  # now warm, at 4
    assert missed_command(case_id, 9).version == 5

    again = MissedInstallment(case_id, 9, today, Decimal("2.00"))  # other data than the 9th
    new = MissedInstallment(case_id, 10, today, Decimal("3.00"))
    outcomes = cases.record_missed_installments([again, new], clock.now())

    assert type(outcomes[0].error).__name__ == "CommandForbidden"
    assert (outcomes[1].error, outcomes[1].recorded_versions) == (None, [6])
    assert cases.case(case_id).arrears_on(today) == Decimal("3204.50")


@pytest.mark.parametrize("chunk", [None, 6], ids=["one chunk", "pipelined chunks"])
def test_events_written_in_bulk_are_chained_and_verify(
    cases: CaseApplication,
    store: AuditStore,
    signer: SignerKey,
    checkpointer: Checkpointer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int | None,
) -> None:
    if chunk is not None:
        monkeypatch.setattr(cases._daily_file, "_chunk", chunk)
    ids = _open(cases, "L-V1", "L-V2", "L-V3")
    today = cases.today()
    cases.record_missed_installments(
        [item for case_id in ids for item in _file(case_id, today)], clock.now()
    )
    checkpointer.resume()
    assert checkpointer.step() is not None

    report = verify_store(store, signer.verifier)

    assert report.finding is None
    assert (report.events, report.cases) == (12, 3)
    times = cases.recorder_.recorded_times(ids[0])
    assert times[2] == times[4]  # one transaction, stamped with the database's time
    assert times[2] > times[1]


def test_a_file_of_one_item_per_case_is_chained_and_verifies(
    cases: CaseApplication,
    store: AuditStore,
    signer: SignerKey,
    checkpointer: Checkpointer,
    clock: Clock,
) -> None:
    """Each case once in the chunk: its statement links without the recursion."""
    ids = _open(cases, "L-W1", "L-W2", "L-W3")
    today = cases.today()
    for installment in (1, 2):  # a second file chains to what the first stored
        due = today - timedelta(days=40 - installment)
        outcomes = cases.record_missed_installments(
            [MissedInstallment(case_id, installment, due, Decimal("1200.00")) for case_id in ids],
            clock.now(),
        )
        assert all(o.error is None for o in outcomes), outcomes
    checkpointer.resume()
    assert checkpointer.step() is not None

    report = verify_store(store, signer.verifier)

    assert report.finding is None
    assert (report.events, report.cases) == (9, 3)


@pytest.mark.parametrize("correlation_id", ["corr-daily-file", None])
@pytest.mark.parametrize("chunk", [None, 6], ids=["one chunk", "pipelined chunks"])
def test_each_event_of_the_file_keeps_the_request_s_correlation_id(
    cases: CaseApplication,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    chunk: int | None,
    correlation_id: str | None,
) -> None:
    if chunk is not None:
        monkeypatch.setattr(cases._daily_file, "_chunk", chunk)
    ids = _open(cases, "L-C1", "L-C2", "L-C3")
    today = cases.today()
    token = set_correlation_id(correlation_id)
    try:
        outcomes = cases.record_missed_installments(
            [item for case_id in ids for item in _file(case_id, today)], clock.now()
        )
    finally:
        reset_correlation_id(token)
    recorded = [(o.case_id, v) for o in outcomes for v in o.recorded_versions]
    assert len(recorded) == 9

    found = cases.recorder_.correlations(recorded)

    if correlation_id is None:  # none is made up: no row
        assert found == {}
    else:
        assert found == dict.fromkeys(recorded, correlation_id)
    opened = cases.recorder_.correlations([(case_id, 1) for case_id in ids])
    assert "corr-daily-file" not in opened.values()  # only the file's events have it


@pytest.mark.parametrize("one_per_case", [True, False], ids=["one item a case", "several"])
def test_the_relay_reads_each_event_with_the_correlation_id_it_was_recorded_with(
    cases: CaseApplication, clock: Clock, one_per_case: bool
) -> None:
    # The cases opened by commands (their ids in rows of event_correlations), then a file
    # (its id in the events' own rows): the relay's read gives each event its own.
    token = set_correlation_id("corr-open")
    try:
        ids = _open(cases, "L-R1", "L-R2")
    finally:
        reset_correlation_id(token)
    today = cases.today()
    if one_per_case:
        items = [
            MissedInstallment(c, 1, today - timedelta(days=40), Decimal("1200.00")) for c in ids
        ]
    else:
        items = [item for case_id in ids for item in _file(case_id, today)]
    token = set_correlation_id("corr-file")
    try:
        outcomes = cases.record_missed_installments(items, clock.now())
    finally:
        reset_correlation_id(token)
    filed = {(o.case_id, v) for o in outcomes for v in o.recorded_versions}
    assert len(filed) == (2 if one_per_case else 6)

    rows = RelayStore(cases.recorder_).rows_between(0, 10**9)

    by_event = {(UUID(r[1]), r[2]): r[5] for r in rows}
    assert by_event == {
        **{(case_id, 1): "corr-open" for case_id in ids},
        **dict.fromkeys(filed, "corr-file"),
    }
    assert cases.recorder_.correlations(list(by_event)) == by_event


def _writing_meanwhile(
    cases: CaseApplication, monkeypatch: pytest.MonkeyPatch, case_id: UUID, times: int
) -> list[int]:
    """Make another writer record an installment on `case_id` right after each of the bulk
    path's first `times` reads of it, before it appends."""
    writer = cases._daily_file
    read = writer.load
    written: list[int] = []

    def load(case_ids: Any) -> dict[UUID, CollectionCase]:
        case_ids = list(case_ids)
        found = read(case_ids)
        if case_id in case_ids and len(written) < times:
            installment = 50 + len(written)

            def miss(case: CollectionCase) -> None:
                case.record_missed_payment(
                    installment=installment,
                    due_date=cases.today() - timedelta(days=3),
                    amount=Decimal("1.00"),
                    now=cases.clock.now(),
                )

            assert cases.execute(Command(case_id, miss)).error is None
            written.append(installment)
        return found

    monkeypatch.setattr(writer, "load", load)
    return written


@pytest.mark.parametrize("chunk", [None, 6], ids=["one chunk", "pipelined chunks"])
@pytest.mark.parametrize("conflicts", [1, bulk_module.ATTEMPTS])
def test_another_writer_on_a_case_makes_the_file_retry_it_never_losing_or_doubling_events(
    cases: CaseApplication,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    conflicts: int,
    chunk: int | None,
    store: AuditStore,
    signer: SignerKey,
) -> None:
    contested, calm = _open(cases, "L-RACE", "L-CALM")
    today = cases.today()
    if chunk is not None:  # a chunk per case: the calm one is prepared while the other appends
        monkeypatch.setattr(cases._daily_file, "_chunk", chunk)
    written = _writing_meanwhile(cases, monkeypatch, contested, conflicts)

    outcomes = cases.record_missed_installments(
        _file(contested, today) + _file(calm, today), clock.now()
    )

    assert written == list(range(50, 50 + conflicts))
    assert [o.error is None for o in outcomes] == [True, True, True, False, False, True] * 2
    history = list(cases.history(contested))
    assert [e.originator_version for e in history] == list(range(1, len(history) + 1))
    installments = [getattr(e, "installment", None) for e in history[1:]]
    assert sorted(installments) == sorted([1, 2, 3, *written])  # each exactly once
    assert [getattr(e, "installment", None) for e in cases.history(calm)][1:] == [1, 2, 3]
    assert verify_store(store, signer.verifier).finding is None


def test_the_command_writer_carries_on_from_what_the_file_wrote(
    cases: CaseApplication, clock: Clock, missed_command: Callable[..., Outcome]
) -> None:
    (case_id,) = _open(cases, "L-AFTER")
    today = cases.today()
    assert missed_command(case_id, 9).version == 2  # the writer now holds the case
    cases.record_missed_installments(_file(case_id, today), clock.now())

    after = missed_command(case_id, 10)

    assert (after.error, after.version, after.recorded_versions) == (None, 6, [6])


@pytest.fixture
def missed_command(cases: CaseApplication) -> Callable[..., Outcome]:
    def _missed(case_id: UUID, installment: int) -> Outcome:
        def action(case: CollectionCase) -> None:
            case.record_missed_payment(
                installment=installment,
                due_date=cases.today() - timedelta(days=2),
                amount=Decimal("1.00"),
                now=cases.clock.now(),
            )

        return cases.execute(Command(case_id, action))

    return _missed


def test_worker_processes_prepare_the_file_as_the_server_process_does(
    case_settings: CaseServiceSettings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    store: AuditStore,
    signer: SignerKey,
) -> None:
    monkeypatch.setattr(bulk_module, "MIN_FOR_WORKERS", 0)
    monkeypatch.setattr(bulk_module, "DEFAULT_CHUNK", 6)  # several chunks, pipelined
    settings = case_settings.model_copy(update={"daily_file_workers": 2})
    app = CaseApplication(settings, clock=clock)
    try:
        _start_workers(app)
        # Each worker settled its heap once started (arrears.heap.settle_heap), as the server
        # does: its start-up objects are out of the collections a file's chunks trigger.
        for pool in app._workers._pools:
            assert pool.submit(gc.get_freeze_count).result() > 0
            assert pool.submit(gc.get_threshold).result() == (GEN0_THRESHOLD, 20, 20)
        # The workers stay below the server's priority, as root or not (workers.py).
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        for process in app._workers.processes():
            assert process.pid is not None
            assert os.getpriority(os.PRIO_PROCESS, process.pid) == min(19, mine + NICENESS)
        ids = _open(app, "L-W1", "L-W2", "L-W3")
        today = app.today()
        items = [item for case_id in ids for item in _file(case_id, today)]
        unknown = MissedInstallment(CollectionCase.id_for_loan("L-NONE"), 1, today, Decimal("1"))

        outcomes = app.record_missed_installments([*items, unknown], clock.now())

        assert [o.error is None for o in outcomes[:-1]] == [
            True,
            True,
            True,
            False,
            False,
            True,
        ] * 3
        assert type(outcomes[-1].error).__name__ == "CaseNotFound"
        assert [app.case(case_id).version for case_id in ids] == [4, 4, 4]
        assert verify_store(store, signer.verifier).finding is None

        for process in app._workers.processes():
            process.kill()  # a worker dies: the file is prepared in the server process
            process.join()
        later = [MissedInstallment(case_id, 7, today, Decimal("5.00")) for case_id in ids]
        after = app.record_missed_installments(later, clock.now())
        assert [(o.error, o.version) for o in after] == [(None, 5)] * 3
    finally:
        app.close()


@pytest.fixture
def with_workers(
    case_settings: CaseServiceSettings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CaseApplication]:
    """An application with two daily file worker processes, ready; a file of any size goes
    to them, in one chunk."""
    monkeypatch.setattr(bulk_module, "MIN_FOR_WORKERS", 0)
    app = CaseApplication(case_settings.model_copy(update={"daily_file_workers": 2}), clock=clock)
    try:
        _start_workers(app)
        yield app
    finally:
        app.close()


def _start_workers(app: CaseApplication) -> None:
    """Start the application's daily file workers and wait until they are ready."""
    app.start_daily_file_workers()
    for _ in range(600):
        if app._workers.ready:
            break
        time.sleep(0.1)
    assert app._workers.ready


def _followed(app: CaseApplication) -> list[int]:
    """The rows each worker's tails have read so far (warm.py)."""
    return [pool.submit(workers_module._followed).result() for pool in app._workers._pools]


def _installment(case_ids: list[UUID], n: int, today: date) -> list[MissedInstallment]:
    return [
        MissedInstallment(i, n, today - timedelta(days=30 - n), Decimal("10.00")) for i in case_ids
    ]


def test_a_worker_reads_back_none_of_its_committed_parts_in_its_tail(
    with_workers: CaseApplication,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    store: AuditStore,
    signer: SignerKey,
) -> None:
    app = with_workers
    ids = _open(app, *(f"L-TAIL{n}" for n in range(8)))
    assert {i.int % 2 for i in ids} == {0, 1}  # both workers have cases
    today = app.today()
    app.record_missed_installments(_installment(ids, 1, today), clock.now())  # cold
    before = _followed(app)

    second = app.record_missed_installments(_installment(ids, 2, today), clock.now())

    assert _followed(app) == before  # confirmed by the server: no row of them read back
    assert [(o.error, o.version) for o in second] == [(None, 3)] * len(ids)
    # Without the messages, the same tail reads each worker's events of the file back.
    monkeypatch.setattr(app._workers, "confirm", lambda parts, ids: None)
    app.record_missed_installments(_installment(ids, 3, today), clock.now())
    before = _followed(app)
    fourth = app.record_missed_installments(_installment(ids, 4, today), clock.now())
    assert sum(_followed(app)) - sum(before) == len(ids)
    assert [(o.error, o.version) for o in fourth] == [(None, 5)] * len(ids)
    assert [app.case(i).version for i in ids] == [5] * len(ids)
    assert verify_store(store, signer.verifier).finding is None


def test_a_worker_s_part_refused_at_its_append_is_never_taken_as_stored(
    with_workers: CaseApplication,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    missed_command: Callable[..., Outcome],
    store: AuditStore,
    signer: SignerKey,
) -> None:
    app = with_workers
    ids = _open(app, *(f"L-REFUSED{n}" for n in range(4)))
    contested = ids[0]
    today = app.today()
    app.record_missed_installments(_installment(ids, 1, today), clock.now())  # warm now
    appender = app._daily_file._appender
    append = appender.append_columns
    wrote: list[Outcome] = []

    def another_writer_first(*args: Any) -> list[int]:
        if not wrote:  # between the workers' answer and its append: it takes version 3
            wrote.append(missed_command(contested, 50))
        return append(*args)

    monkeypatch.setattr(appender, "append_columns", another_writer_first)
    app.record_missed_installments(_installment(ids, 2, today), clock.now())
    assert (wrote[0].error, wrote[0].version) == (None, 3)
    monkeypatch.setattr(appender, "append_columns", append)

    # Installment 50 as the other writer recorded it: reported already, nothing new. A
    # worker trusting its part as stored would hold the case without it and record it again.
    again = MissedInstallment(contested, 50, today - timedelta(days=2), Decimal("1.00"))
    (outcome,) = app.record_missed_installments([again], clock.now())

    assert (outcome.error, outcome.version, outcome.events) == (None, 4, [])
    installments = [getattr(e, "installment", None) for e in app.history(contested)][1:]
    assert installments == [1, 50, 2]
    assert verify_store(store, signer.verifier).finding is None
