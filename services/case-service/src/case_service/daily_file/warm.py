"""Cases kept warm between the daily file's chunks and files, checked against the store.

Rebuilding a case (decrypting, decoding and replaying its snapshot and every event after
it) cost more than running its items: a case gains about one event a day, so most of what
a file reads again was read the day before. Here each process that prepares chunks (the
server, each worker) keeps the cases it prepared, bounded (`DEFAULT_LIMIT`, `STALE_AFTER`),
and on the next read asks the store only for the events after what it holds.

What it holds is never trusted blindly. An entry is the case after its items ran: the
events read from the store (up to `confirmed`) and then those its items recorded, which
are only speculative (the chunk may never be appended, or another writer may take those
versions first). The entry keeps the exact stored bytes of each speculative event; the next
read returns the store's events after `confirmed`, and the entry is used only if the store
holds those very bytes at those versions (events are sealed with a random nonce, so equal
bytes are the same append; without a cipher, equal bytes are the same event). Anything else,
and the case is read afresh from its snapshot. Events are immutable once stored, so a case
built from the store's events up to a version is that case at that version for good.

An entry is taken out while its chunk is prepared and put back after, so two requests
preparing the same case at once never share the object (the second reads it cold).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from case_service.domain import CollectionCase

# Cases per process: about 20-25 kB each once rebuilt (measured with 6-11 installments),
# so about 500 MB at most; a portfolio larger than this is read cold in part, as before.
DEFAULT_LIMIT = 20_000
# When full, a case read cold replaces the least recently used only if that one has rested
# this long (closed, or no longer in the files). Files name their cases in a cycle, day after
# day, and replacing the least recently used at once would, for a portfolio even a little
# larger than the limit, evict each case just before its next file needs it: the cases held
# stay held instead, and the rest are read cold.
STALE_AFTER = 36 * 3600.0  # seconds

Read = Callable[[dict[UUID, int]], dict[UUID, list[StoredEvent]]]
Replay = Callable[[CollectionCase | None, Sequence[StoredEvent]], CollectionCase | None]


@dataclass(slots=True)
class _Entry:
    case: CollectionCase
    confirmed: int  # the version up to which the case was built from the store's events
    speculative: list[StoredEvent]  # the versions after it as recorded, not yet seen stored
    used: float  # when it was last put back (the clock's seconds)


class WarmCases:
    def __init__(
        self, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._entries: OrderedDict[UUID, _Entry] = OrderedDict()  # least recently used first
        self._out: set[UUID] = set()  # taken out by `take`, to be put back
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def take(
        self, case_ids: Iterable[UUID], read: Read, replay: Replay
    ) -> dict[UUID, CollectionCase]:
        """The current state of these cases (unknown ids absent), taken out of the cache until
        `put_back`: warm ones brought up to date with the events after them, the rest (and
        any whose speculative events the store does not hold) rebuilt from the store."""
        with self._lock:
            held = {case_id: self._entries.pop(case_id, None) for case_id in case_ids}
            self._out.update(case_id for case_id, entry in held.items() if entry is not None)
        try:
            cases = self._current(held, read, replay)
        except BaseException:
            self.discard(held)
            raise
        if len(cases) != len(held):
            self.discard(case_id for case_id in held if case_id not in cases)  # gone since
        return cases

    def _current(
        self, held: dict[UUID, _Entry | None], read: Read, replay: Replay
    ) -> dict[UUID, CollectionCase]:
        found = read({case_id: e.confirmed if e else 0 for case_id, e in held.items()})
        cases: dict[UUID, CollectionCase] = {}
        stale: list[UUID] = []
        for case_id, entry in held.items():
            records = found.get(case_id, [])
            if entry is None:
                case = replay(None, records)
            elif _stored(entry.speculative, records):
                after = records[len(entry.speculative) :]
                case = replay(entry.case, after) if after else entry.case  # usually nothing new
            else:
                stale.append(case_id)
                continue
            if case is not None:
                cases[case_id] = case
        if stale:
            for case_id, records in read(dict.fromkeys(stale, 0)).items():
                case = replay(None, records)
                if case is not None:
                    cases[case_id] = case
        return cases

    def put_back(self, cases: dict[UUID, CollectionCase], recorded: Sequence[StoredEvent]) -> None:
        """Keep these cases, after their items ran; `recorded` are the events the items
        recorded (stored form, each case's in version order), not yet known to be stored."""
        speculative: dict[UUID, list[StoredEvent]] = {}
        pending: list[StoredEvent] = []
        last: object = None
        for event in recorded:
            if event.originator_id is not last:  # a case's events come together: one lookup
                last = case_id = event.originator_id
                if not isinstance(case_id, UUID):
                    case_id = UUID(str(case_id))
                pending = speculative.setdefault(case_id, [])
            pending.append(event)
        now = self._clock()
        entries = []
        for case_id, case in cases.items():
            case.collect_events()  # the recorded events travel in `recorded`, not in the case
            pending = speculative.get(case_id, [])
            entries.append((case_id, _Entry(case, case.version - len(pending), pending, now)))
        with self._lock:
            for case_id, entry in entries:
                if case_id in self._out:  # held before: its place was kept
                    self._out.discard(case_id)
                elif len(self._entries) + len(self._out) >= self._limit:
                    oldest = next(iter(self._entries.values()), None)
                    if oldest is None or now - oldest.used < STALE_AFTER:
                        continue  # full of cases still in use: this one stays cold
                    self._entries.popitem(last=False)
                self._entries[case_id] = entry

    def confirm(self, appended: Sequence[StoredEvent]) -> None:
        """These events, as put back (the very objects), are now committed to the store: the
        cases that recorded them hold the store's state up to them, and the next read asks
        only for what came after (rather than reading them back to compare their bytes).
        A case taken out or put back since, with other events, is left as it is."""
        by_case: dict[UUID, list[StoredEvent]] = {}
        for event in appended:
            case_id = event.originator_id
            by_case.setdefault(
                case_id if isinstance(case_id, UUID) else UUID(str(case_id)), []
            ).append(event)
        with self._lock:
            for case_id, events in by_case.items():
                entry = self._entries.get(case_id)
                if entry is None or len(entry.speculative) != len(events):
                    continue
                if all(
                    mine is stored for mine, stored in zip(entry.speculative, events, strict=True)
                ):
                    entry.confirmed += len(events)
                    entry.speculative = []

    def discard(self, case_ids: Iterable[UUID]) -> None:
        """Forget these cases, taken out and not to be put back (their chunk failed)."""
        with self._lock:
            self._out.difference_update(case_ids)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._out.clear()


def _stored(speculative: list[StoredEvent], records: Sequence[StoredEvent]) -> bool:
    """Whether the store holds exactly these speculative events first among `records`."""
    if len(records) < len(speculative):
        return False
    return all(
        (r.originator_version, r.topic, r.state) == (s.originator_version, s.topic, s.state)
        for r, s in zip(records, speculative, strict=False)
    )
