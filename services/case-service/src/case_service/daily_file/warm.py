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

Following the store (`take`'s `tail`) spares most of those reads. Each `take` first reads
what was appended since the last one (the events table by notification id: a range of one
index, not a probe per case) and goes through it: an event that is an entry's next
speculative one, byte for byte, confirms it (as `confirm` does in the appending process);
one at or below an entry's confirmed version is already in it; any other event of a case
held here marks that entry unwatched. An entry followed this way (watched, nothing left
speculative) is used without a read of its own. This is safe because:
- every writer of the events table inserts under its EXCLUSIVE lock (the library's
  `_lock_table`, taken by the command path and by append.py), so notification ids are
  committed in order and a read up to the highest visible id misses none below it;
- an entry counts as watched only under the watch it was read or followed in (`_watch`,
  bumped whenever a stretch of the store goes unexamined: a tail too long to read, or one
  that went back), and an entry read per case is read after the tail it is watched from;
- what was appended after the last tail is caught by the append itself: an event recorded on
  such a case takes a version another writer already holds, and the version constraint
  refuses the chunk (it is read again, never written on a stale case). A case whose own
  speculative events were never appended is never trusted: those are confirmed only by
  their exact bytes in the store.

The process that appends a chunk knows which notification ids its events took (append.py
answers them in the order sent), and says so (`confirm` with `stored_at`; for a worker's
part, bulk.py sends it through workers.py after the commit). The events are then confirmed
in their entries as the tail would have confirmed them, and their ids are marked examined,
so the next tail reads only the gaps between such ranges above `seen`. A range is marked
only if every event of the part was, at that moment, its entry's next speculative event
(the very object put back): then reading it would have done exactly that and nothing else.
An entry taken out, changed or dropped since leaves the whole part to the tail. The message
is never needed for correctness: one lost or late only costs the tail a read (ids at or
below `seen` are already examined), and one is sent only after the commit, for the ids the
store returned, so a part never appended is never confirmed by it.

A daily file worker is sent the cases whose id's `int` is its number modulo the workers
(bulk.py), so with two workers every case it ever takes has the same lowest bit. While
that holds (`_parities`: the lowest bits of every case ever taken here), its tail asks only
for the events of such cases: any other event is of a case neither held nor taken, which,
if taken later, is read from the store after this tail. A case of the other bit taken while
that tail was being read makes the tail count as not examined (the watch is bumped).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
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
# The most notification ids a tail spans before it is not read (every entry then reads its
# case, as without a tail): a file appends about one event per item, so this is several
# files' worth, and a day of other writes past it costs one read per case, not a long tail.
TAIL_LIMIT = 100_000
# ...and at most this many per case held: an event of the tail costs about a quarter of a
# case's own read, so a process holding few cases among many other writes (small files
# prepared in the server between commands) reads its cases, as before, not all the writes.
TAIL_PER_CASE = 4
# Ranges of notification ids confirmed (`confirm`) but not yet passed by a tail: a few per
# chunk; past this many the newest are dropped (left to the tail to read).
EXAMINED_LIMIT = 64
_UNWATCHED = -1
_ONE_PARITY = {0b01: 0, 0b10: 1}  # `_parities` holding one bit: that lowest bit

Read = Callable[[dict[UUID, int]], dict[UUID, list[StoredEvent]]]
Replay = Callable[[CollectionCase | None, Sequence[StoredEvent]], CollectionCase | None]
# (anything, case id as 16 bytes, version, topic, state) of each event after a notification
# id, in any order, and the highest id (0: none); the events are None (not read) when that id is
# more than the limit past it. The order changes no answer: an event confirms only its
# case's next speculative version, and any other marks the case to be read.
TailRows = list[tuple[Any, ...]]
# Its third argument, 0 or 1: only the events of cases whose id's `int` has that lowest bit;
# its fourth, ranges of ids (first, last) above the first argument, in order and apart, not
# to be read (already examined), and not counted in the limit.
Ranges = Sequence[tuple[int, int]]
Tail = Callable[[int, int, int | None, Ranges], tuple[TailRows | None, int]]


@dataclass(slots=True)
class _Entry:
    case: CollectionCase
    confirmed: int  # the version up to which the case was built from the store's events
    speculative: list[StoredEvent]  # the versions after it as recorded, not yet seen stored
    used: float  # when it was last put back (the clock's seconds)
    # The watch under which every event appended after `confirmed` is examined (module
    # docstring); _UNWATCHED: not followed, its case is read.
    watched: int = _UNWATCHED


class WarmCases:
    """Keyed by each case id's `int`: a UUID hashes in Python, an int in C."""

    def __init__(
        self, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._clock = clock
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # least recently used first
        # Taken out by `take` while held, to be put back (the entry, refilled by `put_back`).
        self._out: dict[int, _Entry] = {}
        # Every case taken out, with the watch it is current under (_UNWATCHED if not
        # followed, or touched by another writer while out).
        self._taken: dict[int, int] = {}
        self._lock = threading.Lock()
        self._following = threading.Lock()  # one tail read and its pass at a time
        self._seen: int | None = None  # every event up to this notification id examined
        # ...and these ranges of ids above it (first, last; in order, apart): `confirm`.
        self._examined: list[tuple[int, int]] = []
        self.followed = 0  # rows the tails returned (for the benches and tests)
        self._watch = 0
        # Bit b set: a case whose id's `int` has b as its lowest bit was taken (ever).
        self._parities = 0

    def __len__(self) -> int:
        return len(self._entries)

    def take(
        self,
        case_ids: Iterable[UUID],
        read: Read,
        replay: Replay,
        tail: Tail | None = None,
    ) -> dict[UUID, CollectionCase]:
        """The current state of these cases (unknown ids absent), taken out of the cache until
        `put_back`: warm ones brought up to date with the events after them, the rest (and
        any whose speculative events the store does not hold) rebuilt from the store. With
        `tail`, the store is followed first and a watched entry is not read (module
        docstring)."""
        case_ids = list(case_ids)
        watch = _UNWATCHED
        if tail is not None:
            if self._seen is None or self._holds_any(case_ids):
                watch = self._follow(tail)
            else:
                # Nothing held to bring up to date: the cases are read below, after the last
                # tail, so the next one examines everything appended after their reads.
                watch = self._watch
        with self._lock:
            pop, out, taken = self._entries.pop, self._out, self._taken
            held = []
            parities = self._parities
            for case_id in case_ids:
                key = case_id.int
                parities |= 1 << (key & 1)
                entry = pop(key, None)
                if entry is not None:
                    out[key] = entry
                taken[key] = watch
                held.append((case_id, entry))
            self._parities = parities
        try:
            cases = self._current(held, read, replay, watch)
        except BaseException:
            self.discard(case_ids)
            raise
        if len(cases) != len(held):
            self.discard(case_id for case_id in case_ids if case_id not in cases)  # gone since
        return cases

    def _holds_any(self, case_ids: list[UUID]) -> bool:
        entries = self._entries
        return any(case_id.int in entries for case_id in case_ids)

    def _follow(self, tail: Tail) -> int:
        """Examine what was appended since the last tail (module docstring); the watch
        that entries are current under from now on."""
        with self._following:
            seen = self._seen
            limit = min(TAIL_LIMIT, TAIL_PER_CASE * len(self._entries))
            parities = self._parities
            parity = _ONE_PARITY.get(parities)  # None: cases of both, every event
            with self._lock:
                examined = tuple(self._examined) if seen is not None else ()
            rows, last = tail(
                -1 if seen is None else seen, -1 if seen is None else limit, parity, examined
            )
            with self._lock:
                if (
                    rows is None
                    or seen is None
                    or last < seen
                    or (parity is not None and self._parities != parities)
                ):
                    # A stretch not examined (or a store that went back, or a case of the
                    # other parity taken since the tail left its events out): nothing held
                    # is watched any more; cases read from now on are, from `last`.
                    self._watch += 1
                else:
                    self.followed += len(rows)
                    self._examine(rows)
                self._seen = last
                # Those ranges are passed now (one confirmed meanwhile at or below `last` was
                # committed before the tail's snapshot, so it was read, not skipped).
                self._examined = [(max(a, last + 1), b) for a, b in self._examined if b > last]
                return self._watch

    def _examine(self, rows: TailRows) -> None:
        entries, taken = self._entries, self._taken
        from_bytes = int.from_bytes
        for _, case_bytes, version, topic, state in rows:
            key = from_bytes(case_bytes, "big")
            entry = entries.get(key)
            if entry is None:
                if key in taken:  # out being prepared: not current under any watch
                    taken[key] = _UNWATCHED
                continue
            if version <= entry.confirmed:  # stored before its case was read: in it
                continue
            speculative = entry.speculative
            if speculative:
                mine = speculative[0]
                if (mine.originator_version, mine.topic, mine.state) == (version, topic, state):
                    entry.confirmed = version  # its own append, committed
                    del speculative[0]
                    continue
            entry.watched = _UNWATCHED  # another writer's event: read the case

    def _current(
        self,
        held: list[tuple[UUID, _Entry | None]],
        read: Read,
        replay: Replay,
        watch: int,
    ) -> dict[UUID, CollectionCase]:
        cases: dict[UUID, CollectionCase] = {}
        asked: dict[UUID, _Entry | None] = {}
        for case_id, entry in held:
            if (
                entry is not None
                and watch != _UNWATCHED
                and entry.watched == watch
                and not entry.speculative
            ):
                cases[case_id] = entry.case  # followed: nothing stored after it
            else:
                asked[case_id] = entry
        if not asked:
            return cases
        found = read({case_id: e.confirmed if e else 0 for case_id, e in asked.items()})
        stale: list[UUID] = []
        for case_id, entry in asked.items():
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
        speculative: dict[int, list[StoredEvent]] = {}
        pending: list[StoredEvent] = []
        last: object = None
        for event in recorded:
            if event.originator_id is not last:  # a case's events come together: one lookup
                last = case_id = event.originator_id
                key = case_id.int if isinstance(case_id, UUID) else UUID(str(case_id)).int
                pending = speculative.setdefault(key, [])
            pending.append(event)
        now = self._clock()
        for case in cases.values():
            case.pending_events.clear()  # the recorded events travel in `recorded`
        with self._lock:
            out, taken, stored = self._out, self._taken, self._entries
            for case_id, case in cases.items():
                key = case_id.int
                pending = speculative.get(key) or []
                confirmed = case.version - len(pending)
                watched = taken.pop(key, _UNWATCHED)
                entry = out.pop(key, None)
                if entry is not None:  # held before: its place was kept, and its entry
                    entry.case, entry.confirmed, entry.speculative = case, confirmed, pending
                    entry.used, entry.watched = now, watched
                else:
                    if len(stored) + len(out) >= self._limit:
                        oldest = next(iter(stored.values()), None)
                        if oldest is None or now - oldest.used < STALE_AFTER:
                            continue  # full of cases still in use: this one stays cold
                        stored.popitem(last=False)
                    entry = _Entry(case, confirmed, pending, now, watched)
                stored[key] = entry

    def confirm(self, appended: Sequence[StoredEvent], stored_at: Ranges = ()) -> None:
        """These events, as put back (the very objects), are now committed to the store: the
        cases that recorded them hold the store's state up to them, and the next read asks
        only for what came after (rather than reading them back to compare their bytes).
        A case taken out or put back since, with other events, is left as it is.

        `stored_at`: the ids they were stored at (ranges of notification ids, first and
        last, holding these events and nothing else). If every one of them was confirmed
        here, the tail need not read them (module docstring)."""
        if sum(b - a + 1 for a, b in stored_at) != len(appended):
            stored_at = ()  # not these events' ids: the tail reads them
        with self._lock:
            entries = self._entries
            every = True  # every event its entry's next speculative one
            matched: list[_Entry] = []  # entries whose speculative events all came
            entry: _Entry | None = None
            pending: list[StoredEvent] = []
            at = 0
            for event in appended:
                if at < len(pending) and pending[at] is event:  # the case's next one
                    at += 1
                    continue
                if entry is not None:
                    if at == len(pending):
                        matched.append(entry)
                    else:
                        every = False
                case_id = event.originator_id
                key = case_id.int if type(case_id) is UUID else UUID(str(case_id)).int
                entry = entries.get(key)
                if entry is None or not entry.speculative or entry.speculative[0] is not event:
                    every, entry, pending = False, None, []  # out, changed or gone: as it is
                    continue
                pending, at = entry.speculative, 1
            if entry is not None:
                if at == len(pending):
                    matched.append(entry)
                else:
                    every = False
            for entry in matched:
                entry.confirmed += len(entry.speculative)
                entry.speculative = []
            if every and stored_at and self._seen is not None:
                self._mark(stored_at)

    def _mark(self, stored_at: Ranges) -> None:
        """Add these ranges (their ids above `seen`) to those examined, merged."""
        seen = self._seen
        assert seen is not None
        ranges = sorted(
            [*self._examined, *((max(a, seen + 1), b) for a, b in stored_at if b > seen)]
        )
        merged: list[tuple[int, int]] = []
        for a, b in ranges:
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        self._examined = merged[:EXAMINED_LIMIT]

    def discard(self, case_ids: Iterable[UUID]) -> None:
        """Forget these cases, taken out and not to be put back (their chunk failed)."""
        with self._lock:
            for case_id in case_ids:
                key = case_id.int
                self._out.pop(key, None)
                self._taken.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._out.clear()
            self._taken.clear()
            self._watch += 1


def _stored(speculative: list[StoredEvent], records: Sequence[StoredEvent]) -> bool:
    """Whether the store holds exactly these speculative events first among `records`."""
    if len(records) < len(speculative):
        return False
    return all(
        (r.originator_version, r.topic, r.state) == (s.originator_version, s.topic, s.state)
        for r, s in zip(records, speculative, strict=False)
    )
