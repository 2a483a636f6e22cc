"""The daily file in bulk: many cases read, checked and appended per round trip.

The command writer (executor.py) runs one command per item: fine for a request, but a bank's
file of a million installments spent its time reading cases one subject key at a time and
saving through the library's per-aggregate path. Here, per chunk of the file:

1. read every case of the chunk in one query (latest snapshot and the events after it,
   `CaseEventRecorder.select_current`), decoding personal data as stored (sealed): the
   rules for a missed installment need none of it, and no clear personal value is held.
   Cases this process prepared before are kept warm (warm.py): for them the query asks
   only for the events after the version held, checked against what was held, and those
   followed in the store's tail since (what was appended after the last chunk, read by
   notification id) are not read at all;
2. run each item through `items.record_item`, the domain's own rule on the case, in file
   order (several items of one case apply in order to the same object); the usual new
   installment takes the fast path (fast.py), which records the rule's own event and its
   stored bytes without the generic machinery and leaves anything else to the rule;
3. encode the recorded events with the application's mapper (so the library reads them
   back as it reads any other) and append them with their correlation ids through the
   recorder's `insert_events`: one transaction under the store's insert lock, which
   numbers them in order (by case as the file first names it; with workers, by worker
   first), chains each to its case's hash and stamps the database's time (docs/audit.md),
   exactly as for any other command. A chunk is appended by a thread while the next one is
   prepared (here) or gathered (from the workers, who have the one after it queued); the
   first and last chunks are smaller, so the appends start early and the last one, which
   nothing overlaps, is short. The first chunk can be begun in the workers while the route
   still reads the rest of the body (`begin`), and is appended only if the file turns out
   as begun. A chunk prepared here then confirms its warm cases with its committed events
   and the notification ids they took (warm.py, `confirm`); a worker's part is confirmed
   the same way in the worker (workers.py, `Workers.confirm`), so no tail reads them back;
4. if another writer appended to one of these cases meanwhile, the version constraint
   refuses the whole transaction (nothing of it is written): the chunk is read again and
   re-run, and after a few refusals handed to the command writer, which retries case by
   case. An event is therefore never lost or written twice.

A resent file records nothing new (the rule finds each installment already reported with
the same data). Snapshots are left to the command path: the file adds about one event per
case per month, so a case reaches its next snapshot through ordinary commands.
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from arrears.heap import collector_paused
from arrears.logging import get_correlation_id
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from case_service.commands import CaseNotFound, Command, Outcome
from case_service.daily_file.append import ChunkAppender
from case_service.daily_file.fast import FastMissedPayments, FastReplay, Known
from case_service.daily_file.items import MissedInstallment, as_command, record_item
from case_service.daily_file.opened import LeanOpened
from case_service.daily_file.prepared import Packed, Part, Prepared
from case_service.daily_file.transcoder import LeanTranscoder
from case_service.daily_file.warm import Ranges, WarmCases
from case_service.daily_file.workers import Workers, id_ranges
from case_service.domain import CollectionCase, DomainError
from case_service.domain.events import CaseEvent
from case_service.persistence import CaseEventRecorder
from case_service.pii.keys import SubjectKeys
from case_service.replay import replayed

DEFAULT_CHUNK = 4_000  # items per transaction (a case's items are never split)
# The file's first and last chunks are smaller (`_chunks`): nothing is appended until the
# first is prepared, and nothing overlaps the last one's append.
FIRST_CHUNK = 2_000
# Chunks queued with the workers beyond the one being gathered: one keeps them busy; more
# let them run ahead of the appends, taking the CPU the appends need (on two cores, section
# (c) of case_service_bench.py was slower with two queued than with one).
AHEAD = 1
MIN_FOR_WORKERS = 2_000  # below this, handing a file to the workers costs more than it saves
ATTEMPTS = 3  # reads of a chunk refused by a concurrent writer before it goes case by case

_log = logging.getLogger(__name__)


@functools.cache
def _is_snapshot(topic: str) -> bool:
    cls = resolve_topic(topic)
    return isinstance(cls, type) and issubclass(cls, Snapshot)


@dataclass
class BegunChunk:
    """A file's first chunk sent to the workers before the rest of the file was read
    (`DailyFileWriter.begin`). Never appended unless `record` takes it; a worker that
    prepared it keeps its cases with the chunk's events as speculative (warm.py), which
    the store, not holding them, refutes on the next read."""

    items: list[MissedInstallment]
    parts: list[list[list[int]]]  # the items' indices by worker, as sent
    futures: list[Future[Packed]]
    now: datetime

    def starts(self, items: Sequence[MissedInstallment]) -> bool:
        """Whether `items` begins with these very items."""
        return begins_with(items, self.items)

    def drop(self) -> None:
        """Not to be appended: what has not started is not prepared."""
        for future in self.futures:
            future.cancel()


class DailyFileWriter:
    # Items its case's rule would accept without anything unusual take the fast path
    # (fast.py); off, every item runs through the rule on the aggregate (the tests compare).
    fast = True

    def __init__(
        self,
        *,
        recorder: CaseEventRecorder,
        reader: Mapper[UUID],
        writer: Mapper[UUID],
        snapshots_table: str,
        subject_keys: SubjectKeys | None,
        fallback: Callable[[Sequence[Command]], list[Outcome]],
        written: Callable[[Iterable[UUID]], None],
        workers: Workers | None = None,
        chunk: int | None = None,
    ) -> None:
        self._recorder = recorder
        self._appender = ChunkAppender(recorder)
        self._reader = reader
        self._fast_replay = FastReplay(reader)
        self._lean_opened = LeanOpened(reader)
        # The application's mapper (personal data sealing, the cipher) with a lean encoder.
        self._writer = copy.copy(writer)
        self._writer.transcoder = LeanTranscoder(cast(JSONTranscoder, writer.transcoder))
        self._snapshots_table = snapshots_table
        self._keys = subject_keys
        self._fallback = fallback
        self._written = written
        self._workers = workers
        self._chunk = chunk or DEFAULT_CHUNK
        self._warm = WarmCases()
        self._known = Known()  # the fast path's per-case values, kept between chunks

    def begin(self, items: list[MissedInstallment], total: int, now: datetime) -> BegunChunk | None:
        """The first `len(items)` items of a file of `total`, handed to the workers as its
        first chunk while the rest of the file is still read (api/routes/batch.py); None if
        the file is not for the workers. `record` uses it only if the file is as begun."""
        workers = self._workers
        if workers is None or not workers.ready or total < MIN_FOR_WORKERS:
            return None
        if not 0 < len(items) < total:
            return None
        parts = _by_worker(list(_by_case(items).values()), items, workers.count)
        futures = self._submit(workers, parts, items, now)
        return BegunChunk(items, parts, futures, now) if futures else None

    def record(
        self,
        items: Sequence[MissedInstallment],
        now: datetime,
        begun: BegunChunk | None = None,
    ) -> list[Outcome]:
        """One outcome per item, in order: the events it recorded, none (reported before),
        or the error its case's rules gave. `begun` (from `begin`, with the same `now`) is
        taken as the file's first chunk if these items start with its items and no later
        item names one of its cases; otherwise it is dropped (never appended)."""
        correlation_id = get_correlation_id()
        first = min(FIRST_CHUNK, self._chunk)
        workers = self._workers
        chunks = None
        if begun is not None:
            if workers is not None and workers.ready and begun.now == now and begun.starts(items):
                chunks = _chunks_after(items, len(begun.items), self._chunk, first)
            if chunks is None:
                begun.drop()
                begun = None
        if chunks is None:
            chunks = _chunks(items, self._chunk, first)
        preparing: Iterator[tuple[list[MissedInstallment], Prepared | None]]
        if workers is None or not workers.ready or len(items) < MIN_FOR_WORKERS:
            preparing = self._prepared_here(chunks, items, now)
        else:
            # Each chunk's cases split between the workers, and in worker order, the order
            # the workers' parts come back in; a begun first chunk as it was sent.
            split = [
                _by_worker(chunk, items, workers.count) for chunk in chunks[begun is not None :]
            ]
            if begun is not None:
                split.insert(0, begun.parts)
            chunks = [[group for part in parts for group in part] for parts in split]
            sent = begun.futures if begun is not None else None
            preparing = self._prepared_by(workers, split, items, now, sent)
        return self._appended(len(items), chunks, preparing, now, correlation_id)

    def _appended(
        self,
        count: int,
        chunks: list[list[list[int]]],
        preparing: Iterator[tuple[list[MissedInstallment], Prepared | None]],
        now: datetime,
        correlation_id: str | None,
    ) -> list[Outcome]:
        """Each chunk's items and what `preparing` made of them (None: prepare them in
        `_record_chunk`), appended by a thread while the next chunk is prepared or gathered:
        the append is mostly a wait for PostgreSQL, whose work (the chain's hashes, the
        indexes) then runs on another core beside this process's Python instead of after it.
        One chunk appends at a time, in order; a chunk whose append failed stops the file
        there (the next one, prepared, is not appended: warm.py checks what it recorded).
        A file of one chunk has nothing to overlap: it is appended here, without a thread."""
        outcomes: list[Outcome | None] = [None] * count
        appending: tuple[list[int], Future[list[Outcome]]] | None = None
        runner = (
            _Inline()
            if len(chunks) < 2
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="daily-file-append")
        )
        with runner:
            for chunk, (picked, prepared) in zip(chunks, preparing, strict=True):
                if appending is not None:
                    _place(outcomes, *_result(appending))
                appending = (
                    _indices(chunk),
                    runner.submit(self._record_chunk, picked, now, correlation_id, prepared),
                )
            if appending is not None:
                _place(outcomes, *_result(appending))
        return cast(list[Outcome], outcomes)

    def _prepared_here(
        self, chunks: list[list[list[int]]], items: Sequence[MissedInstallment], now: datetime
    ) -> Iterator[tuple[list[MissedInstallment], Prepared | None]]:
        for chunk in chunks:
            picked = _picked(chunk, items)
            yield picked, self.prepare(picked, now)

    def _prepared_by(
        self,
        workers: Workers,
        split: list[list[list[list[int]]]],
        items: Sequence[MissedInstallment],
        now: datetime,
        sent: list[Future[Packed]] | None = None,
    ) -> Iterator[tuple[list[MissedInstallment], Prepared | None]]:
        """The chunks (each split between the workers, `_by_worker`) as the workers prepare
        them, in order (`sent`: the first one's, already submitted). The next chunk is
        already queued with them when one is gathered, so a worker goes from one chunk to
        the next without waiting for the server to gather, append or send."""
        submitted = [] if sent is None else [sent]
        submitted += [self._submit(workers, p, items, now) for p in split[len(submitted) : AHEAD]]
        for n, parts in enumerate(split):
            if n + AHEAD < len(split):
                submitted.append(self._submit(workers, split[n + AHEAD], items, now))
            futures = submitted[n]
            submitted[n] = []  # gathered: its answer need not be held
            picked = [item for part in parts for item in _picked(part, items)]
            yield picked, _gathered(futures, picked) if futures else None

    def _record_chunk(
        self,
        items: Sequence[MissedInstallment],
        now: datetime,
        correlation_id: str | None,
        prepared: Prepared | None = None,
    ) -> list[Outcome]:
        for _ in range(ATTEMPTS):
            if prepared is None:
                prepared = self.prepare(items, now)
            if not prepared.has_events:
                return prepared.outcomes
            try:
                ids = self._appender.append_columns(prepared.appendable, correlation_id)
            except IntegrityError:
                prepared = None  # another writer got to one of these cases first: read again
                continue
            # Committed: its warm cases need not read them back, in the tail or per case.
            if prepared.here:
                self._warm.confirm(prepared.events, id_ranges(ids))
            elif prepared.parts and self._workers is not None:
                self._workers.confirm(prepared.parts, ids)
            self._written(prepared.case_ids)
            return prepared.outcomes
        return self._fallback([as_command(item, now, correlation_id) for item in items])

    def prepare(self, items: Sequence[MissedInstallment], now: datetime) -> Prepared:
        """Read the items' cases, run each item through its case's rules in order, and
        encode the events they recorded (each case's in version order)."""
        # Rebuilding thousands of cases allocates millions of objects, none of them garbage
        # until the chunk ends: without the pause, about half the CPU of a chunk (heap.py).
        with collector_paused():
            case_ids = _distinct(item.case_id for item in items)
            cases = self.load(case_ids)
            try:
                fast = FastMissedPayments(now, self._writer, self._known) if self.fast else None
                recorded: list[CaseEvent | StoredEvent] = []
                outcomes = []
                case_id: object = None
                case = None
                for item in items:
                    if item.case_id is not case_id:  # a case's items come together: one lookup
                        case_id, case = item.case_id, cases.get(item.case_id)
                    outcomes.append(_apply(item, case, now, recorded, fast))
                to_stored = self._writer.to_stored_event
                events = [e if type(e) is StoredEvent else to_stored(e) for e in recorded]  # type: ignore[arg-type]
            except BaseException:
                self._warm.discard(case_ids)  # half-run cases are not kept
                raise
            self._warm.put_back(cases, events)
        return Prepared(outcomes, events)

    def _submit(
        self,
        workers: Workers,
        parts: list[list[list[int]]],
        items: Sequence[MissedInstallment],
        now: datetime,
    ) -> list[Future[Packed]]:
        """Each worker's part of a chunk (`_by_worker`) sent to it; none: the pool is broken,
        the chunk is prepared here."""
        try:
            return [
                workers.submit(n, _picked(part, items), now) for n, part in enumerate(parts) if part
            ]
        except Exception:  # a worker died (the pool is broken): prepare chunks here
            _log.exception("daily file workers unavailable; chunks are prepared in-process")
            return []

    def load(self, case_ids: Iterable[UUID]) -> dict[UUID, CollectionCase]:
        """The current state of these cases (unknown ids absent), taken from the warm cases
        (warm.py: those it followed in the store's tail since are not read again) or read in
        one query; `prepare` puts them back."""
        return self._warm.take(case_ids, self._read, self._replay, self._recorder.select_tail)

    def confirm(self, events: Sequence[StoredEvent], stored_at: Ranges) -> None:
        """A part prepared here (as a worker) is committed, its `events` at these ranges of
        notification ids (warm.py, `confirm`)."""
        self._warm.confirm(events, stored_at)

    @property
    def followed(self) -> int:
        """The rows the warm cases' tails returned."""
        return self._warm.followed

    def _read(self, known: dict[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """The records that bring each case up to date from its known version (0: from its
        latest snapshot), in one query."""
        found = self._recorder.select_current(known, self._snapshots_table)
        if self._keys is not None:  # snapshots are sealed with the borrower's key
            self._keys.prefetch(
                [
                    self._keys.ref(case_id, "borrower")
                    for case_id, records in found.items()
                    if _is_snapshot(records[0].topic)
                ]
            )
        return found

    def _replay(
        self, case: CollectionCase | None, records: Sequence[StoredEvent]
    ) -> CollectionCase | None:
        if case is None and records:  # a cold case: its opening read lean (opened.py)
            opened = self._lean_opened.case(records[0])
            if opened is not None:
                case, records = opened, records[1:]
        to_domain_event, fast = self._reader.to_domain_event, self._fast_replay.event
        # fast.py reads a missed installment; anything else goes through the mapper.
        state: object = replayed(case, (fast(r) or to_domain_event(r) for r in records))
        return state if isinstance(state, CollectionCase) else None


def begins_with(items: Sequence[Any], head: Sequence[Any]) -> bool:
    """Whether `items`, longer than `head`, begins with its very objects (not merely equal
    ones): a file as its first chunk was begun."""
    return len(items) > len(head) and all(a is b for a, b in zip(head, items, strict=False))


def _by_case(items: Sequence[MissedInstallment]) -> dict[UUID, list[int]]:
    """The items' indices by case, cases in the order the items first name them."""
    by_case: dict[UUID, list[int]] = {}
    for index, item in enumerate(items):
        by_case.setdefault(item.case_id, []).append(index)
    return by_case


def _chunks(items: Sequence[MissedInstallment], size: int, first: int) -> list[list[list[int]]]:
    """The items' indices grouped by case (file order within a case), the groups cut into
    chunks: no case spans two chunks, so a chunk can be prepared while the one before
    commits. The first is of about `first` items, each next one at most twice the one before
    and at most `size`, and towards the end at most half of what is left (but not under
    `first`): the first append starts early, and the last, which nothing overlaps, is short."""
    return _cut(iter(_by_case(items).values()), [], len(items), size, first)


def _chunks_after(
    items: Sequence[MissedInstallment], begun: int, size: int, first: int
) -> list[list[list[int]]] | None:
    """As `_chunks`, the first chunk being the cases named in the first `begun` items (as
    `begin` cut it); None if a later item names one of them."""
    groups = iter(_by_case(items).values())
    head: list[list[int]] = []
    for group in groups:
        if group[0] >= begun:
            groups = itertools.chain((group,), groups)
            break
        if group[-1] >= begun:
            return None
        head.append(group)
    return _cut(groups, [head], len(items) - begun, size, first)


def _cut(
    groups: Iterator[list[int]], chunks: list[list[list[int]]], left: int, size: int, first: int
) -> list[list[list[int]]]:
    """`groups` (of `left` items) cut into chunks after `chunks`, as `_chunks` says."""
    count = limit = first
    for group in groups:
        if count + len(group) > limit:
            if chunks:
                limit = min(size, 2 * limit, max(first, left // 2))
            chunks.append([])
            count = 0
        chunks[-1].append(group)
        count += len(group)
        left -= len(group)
    return chunks


def _distinct(case_ids: Iterable[UUID]) -> dict[UUID, None]:
    """The ids in order, once each. A case's items come together (chunks group them, and
    the endpoint gives them one id object): an id that is the one before it is not hashed
    again (a UUID hashes in Python)."""
    distinct: dict[UUID, None] = {}
    last: object = None
    for case_id in case_ids:
        if case_id is not last:
            distinct[case_id] = None
            last = case_id
    return distinct


def _indices(chunk: list[list[int]]) -> list[int]:
    return [index for group in chunk for index in group]


def _picked(chunk: list[list[int]], items: Sequence[MissedInstallment]) -> list[MissedInstallment]:
    return [items[index] for group in chunk for index in group]


class _Inline:
    """The executor's `submit`, run at once in the caller's thread (a file of one chunk)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *_: object) -> None:
        return None

    def submit(self, run: Callable[..., list[Outcome]], /, *args: Any) -> Future[list[Outcome]]:
        future: Future[list[Outcome]] = Future()
        try:
            future.set_result(run(*args))
        except Exception as exc:  # raised by `result()`, as the thread's future does
            future.set_exception(exc)
        return future


def _place(outcomes: list[Outcome | None], indices: list[int], done: list[Outcome]) -> None:
    for index, outcome in zip(indices, done, strict=True):
        outcomes[index] = outcome


def _result(appending: tuple[list[int], Future[list[Outcome]]]) -> tuple[list[int], list[Outcome]]:
    return appending[0], appending[1].result()


def _by_worker(
    chunk: list[list[int]], items: Sequence[MissedInstallment], count: int
) -> list[list[list[int]]]:
    """The chunk's groups (one per case) split by the worker that prepares their case, each
    case always the same one (by its id), where it is warm from earlier files; in file
    order within each."""
    parts: list[list[list[int]]] = [[] for _ in range(count)]
    for group in chunk:
        parts[_worker_of(items[group[0]].case_id, count)].append(group)
    return parts


def _worker_of(case_id: UUID, count: int) -> int:
    """The worker that prepares this case, the same one file after file (warm.py)."""
    return case_id.int % count


def _gathered(futures: list[Future[Packed]], items: Sequence[MissedInstallment]) -> Prepared | None:
    """The workers' parts as one chunk of `items` (their parts in worker order); None
    (prepare it here) if a worker failed."""
    try:
        parts = [future.result() for future in futures]
    except Exception:
        _log.exception("a daily file worker failed; the chunk is prepared in-process")
        return None
    if len(parts) == 1:
        return Prepared.arrived(parts[0], items)
    outcomes: list[Any] = []
    ids: list[str] = []
    versions: list[int] = []
    topics: list[str] = []
    states: list[bytes] = []
    tokens: list[Part] = []  # each part's, in the order of its events (`Workers.confirm`)
    for answers, (part_ids, part_versions, part_topics, part_states), part in parts:
        outcomes += answers
        ids += part_ids
        versions += part_versions
        topics += part_topics
        states += part_states
        tokens += part
    return Prepared.arrived((outcomes, (ids, versions, topics, states), tokens), items)


def _apply(
    item: MissedInstallment,
    case: CollectionCase | None,
    now: datetime,
    recorded: list[CaseEvent | StoredEvent],
    fast: FastMissedPayments | None = None,
) -> Outcome:
    if case is None:
        return Outcome(item.case_id, error=CaseNotFound(item.case_id))
    stored = fast.record(case, item) if fast is not None else None
    if stored is not None:  # the usual new installment (fast.py): its event and bytes
        recorded.append(stored)
        version = stored.originator_version
        return Outcome(
            item.case_id, version=version, events=["PaymentMissed"], recorded_versions=[version]
        )
    before = len(case.pending_events)
    try:
        record_item(case, item, now)
    except DomainError as exc:
        if len(case.pending_events) != before:  # a rule broke after recording
            raise RuntimeError("domain command recorded events before failing") from exc
        return Outcome(item.case_id, version=case.version, error=exc)
    new = [event for event in case.pending_events[before:] if isinstance(event, CaseEvent)]
    recorded += new
    return Outcome(
        item.case_id,
        version=case.version,
        events=[type(event).__name__ for event in new],
        recorded_versions=[event.originator_version for event in new],
    )
