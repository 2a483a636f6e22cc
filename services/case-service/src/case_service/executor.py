"""Runs commands against cases, committing many concurrent commands in one transaction.

The event store serialises writers with a table lock (so the notification log has no gaps),
which caps a get-call-save per request at a few hundred commits a second. Here request
threads hand their command to one writer thread; it takes whatever has queued up, applies
each command to its case (several commands to one case apply in order to the same object)
and saves all of them in one transaction with their idempotency records. If that
transaction fails (another process wrote one of the cases, a key was taken meanwhile),
every command in it is retried on its own with a fresh read, so one conflict never fails
its neighbours.

The writer keeps the cases it has seen (`CaseCache`) and reads what a batch needs in one
round trip: the answers already given to its Idempotency-Keys, the cases it has not seen and
their subjects' data keys. Only the writer thread runs commands, including the daily batch and aging
(`execute_all` queues them as one job), so a cached case is never changed by two threads.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from case_service.case_cache import CaseCache
from case_service.commands import (
    CaseNotFound,
    Command,
    Outcome,
    VersionMismatch,
    correlations,
    idempotency_record,
    replayed,
)
from case_service.domain import CollectionCase, DomainError
from case_service.persistence import IdempotencyRecord

_log = logging.getLogger(__name__)


class CaseStore(Protocol):
    """The few operations the writer needs from the event store, and nothing else."""

    def read(
        self,
        claims: Sequence[tuple[str, str]],
        case_ids: Sequence[UUID],
        cached: Sequence[CollectionCase] = (),
    ) -> tuple[dict[tuple[str, str], IdempotencyRecord], dict[UUID, CollectionCase]]:
        """In one round trip: the stored records for these (scope, key) claims, and the
        current cases for these ids (unknown ids absent), `cached` ones brought up to date
        in place."""
        ...

    def save_idempotency(self, record: IdempotencyRecord) -> bool: ...

    def save(
        self,
        cases: Sequence[CollectionCase],
        idempotency: Sequence[IdempotencyRecord],
        correlations: Sequence[tuple[UUID, int, str]],
    ) -> None:
        """Store the cases' pending events with these records, in one transaction; raises
        IntegrityError when another writer got there first."""
        ...


@dataclass
class _Job:
    """Commands queued for the writer: one from a request, or a whole file (`execute_all`).
    A request awaiting on an event loop is answered through `waiter`, on that loop."""

    commands: list[Command]
    future: Future[list[Outcome]]
    waiter: asyncio.Future[list[Outcome]] | None = None


def _settle(answers: list[tuple[asyncio.Future[list[Outcome]], Any]]) -> None:
    """On the event loop: hand each awaiting request its outcomes (or the batch's fault)."""
    for waiter, answer in answers:
        if waiter.done():  # the request was cancelled (its client went away)
            continue
        if isinstance(answer, BaseException):
            waiter.set_exception(answer)
        else:
            waiter.set_result(answer)


def _answer(jobs: Sequence[_Job], answers: Sequence[Any]) -> None:
    """Settle each job: threads' futures at once, and the awaiting requests with one call per
    event loop for the whole batch (not a wake-up of the loop per request)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[Outcome]], Any]]]
    by_loop = {}
    for job, answer in zip(jobs, answers, strict=True):
        if job.waiter is not None:
            by_loop.setdefault(job.waiter.get_loop(), []).append((job.waiter, answer))
        elif isinstance(answer, BaseException):
            job.future.set_exception(answer)
        else:
            job.future.set_result(answer)
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that loop has closed: nobody is waiting any more
            _log.warning("%d answers for a closed event loop dropped", len(settled))


class CommandExecutor:
    def __init__(
        self,
        store: CaseStore,
        *,
        max_batch: int = 500,
        cache_size: int = 20_000,
        other_writers: bool = False,
        linger_seconds: float = 0.0,
    ) -> None:
        self._store = store
        # How long a batch may wait for more commands once the queue is empty. A commit has a
        # fixed cost (about 1 ms of CPU); requests arriving together were otherwise split
        # into a batch of one or two and another of the rest while the event loop was still
        # reading them. Only while requests do come together (the last batch held several):
        # a lone caller (a console user, a test, the simulator's sequence) is never held.
        self._linger = linger_seconds
        self._together = False
        # With other writers on the store (several server processes), cached cases are
        # brought up to date at the start of each batch: one query, not a conflict per case.
        self._refresh_cached = other_writers
        self._max_batch = max_batch
        self._cache = CaseCache(cache_size)
        # Cases written past the writer (the daily file's bulk path), dropped from the cache
        # by the writer thread before it next reads any.
        self._stale: queue.SimpleQueue[UUID] = queue.SimpleQueue()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="case-writer", daemon=True)
        self._stopped = threading.Event()
        self._thread.start()

    # --- the API used by request threads -------------------------------------------------

    def execute(self, command: Command) -> Outcome:
        """Queue one command for the writer thread and wait for its outcome."""
        return self._enqueue([command]).result()[0]

    async def execute_async(self, command: Command) -> Outcome:
        """The same, awaited on the event loop: no worker thread is held while it waits."""
        waiter = asyncio.get_running_loop().create_future()
        self._enqueue([command], waiter)
        outcomes: list[Outcome] = await waiter
        return outcomes[0]

    def execute_all(self, commands: Sequence[Command]) -> list[Outcome]:
        """Run a large batch (the daily file, aging) on the writer, in chunks of one commit."""
        return self._enqueue(list(commands)).result() if commands else []

    def forget(self, case_ids: Iterable[UUID]) -> None:
        """These cases were written by another path of this process: read them afresh.
        Only cached ones are queued (a case cached meanwhile meets the version check)."""
        for case_id in case_ids:
            if case_id in self._cache:
                self._stale.put(case_id)

    def close(self) -> None:
        self._stopped.set()
        self._queue.put(None)
        self._thread.join(timeout=10)
        # Whatever was queued behind the stop is refused, not left waiting for ever.
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None and not job.future.done():
                _answer([job], [RuntimeError("case-service is shutting down")])

    def _enqueue(
        self, commands: list[Command], waiter: asyncio.Future[list[Outcome]] | None = None
    ) -> Future[list[Outcome]]:
        if self._stopped.is_set():
            raise RuntimeError("case-service is shutting down")
        job = _Job(commands, Future(), waiter)
        self._queue.put(job)
        return job.future

    # --- the writer thread --------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped.is_set():
            first = self._queue.get()
            if first is None:
                return
            jobs = [first]
            queued = len(first.commands)
            until = time.monotonic() + (self._linger if self._together else 0.0)
            while queued < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    job = self._wait_for_more(until)
                    if job is None:
                        break
                if job is None:
                    self._stopped.set()
                    break
                jobs.append(job)
                queued += len(job.commands)
            self._together = len(jobs) > 1
            self._run_jobs(jobs)

    def _wait_for_more(self, until: float) -> _Job | None:
        """The next job if one comes before `until`, else None (also for the stop sentinel,
        which marks the writer stopped: it ends after this batch)."""
        remaining = until - time.monotonic()
        if remaining <= 0:
            return None
        try:
            job = self._queue.get(timeout=remaining)
        except queue.Empty:
            return None
        if job is None:
            self._stopped.set()
        return job

    def _run_jobs(self, jobs: list[_Job]) -> None:
        commands = [command for job in jobs for command in job.commands]
        outcomes: list[Outcome] = []
        try:
            for start in range(0, len(commands), self._chunk):
                outcomes.extend(self._commit_batch(commands[start : start + self._chunk]))
        except Exception as exc:  # a fault (database down): every caller hears of it
            _log.exception("command batch failed")
            _answer(jobs, [exc] * len(jobs))
            return
        answers = []
        for job in jobs:
            answers.append(outcomes[: len(job.commands)])
            outcomes = outcomes[len(job.commands) :]
        _answer(jobs, answers)

    _chunk = 2000  # commands per transaction for the daily file and aging

    # --- applying and saving --------------------------------------------------------------

    def _read(
        self, commands: Sequence[Command]
    ) -> tuple[list[Outcome | None], dict[UUID, CollectionCase]]:
        """What a batch needs, in one read: for each command the answer already given to its
        Idempotency-Key (if any), and the cases: cached ones as they are, the rest read."""
        claims = [(c.idempotency.scope, c.idempotency.key) for c in commands if c.idempotency]
        while True:  # cases the daily file's bulk path wrote past this writer's cache
            try:
                self._cache.evict(self._stale.get_nowait())
            except queue.Empty:
                break
        cases: dict[UUID, CollectionCase] = {}
        missing = []
        for case_id in {command.case_id for command in commands}:
            case = self._cache.get(case_id)
            if case is None:
                missing.append(case_id)
            else:
                cases[case_id] = case
        cached = list(cases.values()) if self._refresh_cached else []
        records: dict[tuple[str, str], IdempotencyRecord] = {}
        if claims or missing or cached:
            records, loaded = self._store.read(claims, missing, cached)
            for case_id, case in loaded.items():
                self._cache.put(case)
                cases[case_id] = case
        return [replayed(command, records) for command in commands], cases

    def _evict(self, case_ids: Iterable[UUID]) -> None:
        for case_id in case_ids:
            self._cache.evict(case_id)

    def _commit_batch(self, commands: list[Command]) -> list[Outcome]:
        replays, cases = self._read(commands)
        try:
            outcomes = [
                replay or self._apply(command, cases)
                for command, replay in zip(commands, replays, strict=True)
            ]
            records = [
                idempotency_record(command, outcome)
                for command, outcome in zip(commands, outcomes, strict=True)
                if command.idempotency is not None
                and outcome.error is None
                and outcome.events
                and not outcome.replayed
            ]
            changed = [case for case in cases.values() if case.pending_events]
            if changed or records:
                self._store.save(changed, records, correlations(commands, outcomes))
        except IntegrityError:
            # Someone else wrote one of these cases or keys: redo each command alone.
            self._evict(cases)
            return [self._commit_alone(command) for command in commands]
        except BaseException:
            self._evict(cases)  # they may hold events that were never saved
            raise
        self._store_replies_without_events(commands, outcomes)
        return outcomes

    def _commit_alone(self, command: Command, attempts: int = 5) -> Outcome:
        for _ in range(attempts):
            self._cache.evict(command.case_id)
            replays, cases = self._read([command])
            if replays[0] is not None:
                return replays[0]
            try:
                outcome = self._apply(command, cases)
                case = cases.get(command.case_id)
                if outcome.error is not None or case is None or not case.pending_events:
                    self._store_replies_without_events([command], [outcome])
                    return outcome
                records = [idempotency_record(command, outcome)] if command.idempotency else []
                self._store.save([case], records, correlations([command], [outcome]))
            except IntegrityError:
                continue
            except BaseException:
                self._cache.evict(command.case_id)
                raise
            return outcome
        self._cache.evict(command.case_id)
        return Outcome(command.case_id, error=IntegrityError("too many concurrent writers"))

    def _apply(self, command: Command, cases: dict[UUID, CollectionCase]) -> Outcome:
        case = cases.get(command.case_id)
        if case is None:
            return Outcome(command.case_id, error=CaseNotFound(command.case_id))
        if command.expected_version is not None and command.expected_version != case.version:
            case = self._refresh(case, cases)
        if command.expected_version is not None and command.expected_version != case.version:
            return Outcome(
                command.case_id,
                version=case.version,
                error=VersionMismatch(command.expected_version, case.version),
            )
        recorded_before = len(case.pending_events)
        try:
            command.action(case)
        except DomainError as exc:
            if len(case.pending_events) != recorded_before:  # a rule broke after recording
                raise RuntimeError("domain command recorded events before failing") from exc
            return Outcome(command.case_id, version=case.version, error=exc)
        recorded = case.pending_events[recorded_before:]
        return Outcome(
            command.case_id,
            version=case.version,
            events=[type(e).__name__ for e in recorded],
            recorded_versions=[e.originator_version for e in recorded],
        )

    def _refresh(self, case: CollectionCase, cases: dict[UUID, CollectionCase]) -> CollectionCase:
        """Before answering 412, make sure the cached case is not behind the store (another
        process may have written it). A case with unsaved events in this batch stays."""
        if case.pending_events:
            return case
        fresh = self._store.read([], [case.id])[1].get(case.id)
        if fresh is None or fresh.version == case.version:
            return case
        self._cache.put(fresh)
        cases[case.id] = fresh
        return fresh

    def _store_replies_without_events(
        self, commands: Sequence[Command], outcomes: Sequence[Outcome]
    ) -> None:
        # A successful no-op (an installment resent) still owns its key.
        for command, outcome in zip(commands, outcomes, strict=True):
            failed_or_recorded = outcome.error is not None or outcome.events or outcome.replayed
            if command.idempotency is None or failed_or_recorded:
                continue
            self._store.save_idempotency(idempotency_record(command, outcome, status=200))
