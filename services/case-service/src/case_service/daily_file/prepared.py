"""A chunk of the file after its cases' rules ran: an outcome per item, events to append.

Between a worker and the server a chunk travels packed (`portable`, `arrived`): plain ints,
strings and bytes, which pickle several times faster than the outcome and event objects
with their UUIDs (pickling was a fifth of the server's CPU per item). The server knows each
outcome's case (the item it answers, in the order sent), so an outcome travels without it,
and the usual one (one PaymentMissed recorded at the case's new version) as that version
alone. The events travel as four columns (case id text, version, topic, state), an event's
case as its id's text, the form the append sends to PostgreSQL, and are appended as they
came (append.py, `append_columns`): the server builds no UUID or StoredEvent per item.
A worker's part also carries its token (worker number, a number of the part, event count):
once the part is committed, the server sends the worker the ids its events took (workers.py),
and the worker's tail need not read them back (warm.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from case_service.commands import CaseNotFound, Outcome
from case_service.daily_file.append import Columns, columns
from case_service.daily_file.items import MissedInstallment

# A worker's part with events: (worker number, the part's number there, its event count).
Part = tuple[int, int, int]
# Per outcome, in the items' order: the usual one's version, or (version, event names,
# recorded versions, error); the events' columns: case id texts, versions, topics, states;
# and the parts whose events those are, in that order.
Packed = tuple[list[Any], Columns, list[Part]]
USUAL = "PaymentMissed"  # the event of the usual outcome


@dataclass
class Prepared:
    outcomes: list[Outcome]
    events: list[StoredEvent] = field(default_factory=list)
    # Prepared in this process: its cases are in this process's warm cases (warm.py).
    here: bool = True

    # The cases its events belong to, where known on arrival (see `case_ids`).
    written: set[UUID] | None = None
    # Arrived from a worker: its events as the columns they came in, appended as they are
    # (append.py); `events` is then empty.
    columns: Columns | None = None
    # Arrived from workers: the parts its columns are made of, in order (`Packed`).
    parts: list[Part] = field(default_factory=list)

    @property
    def appendable(self) -> Columns:
        """The events as the append takes them."""
        return self.columns if self.columns is not None else columns(self.events)

    @property
    def has_events(self) -> bool:
        return bool(self.columns[0] if self.columns is not None else self.events)

    @property
    def case_ids(self) -> set[UUID]:
        if self.written is not None:
            return self.written
        if self.columns is not None:
            return {UUID(i) for i in set(self.columns[0])}
        ids = {event.originator_id for event in self.events}  # a few events per case
        return {i if isinstance(i, UUID) else UUID(i) for i in ids}

    def portable(self, part: tuple[int, int] | None = None) -> Packed:
        """Fit to cross a process boundary: an unknown case's error is rebuilt on arrival
        (exceptions pickle their arguments, and CaseNotFound's is the case id). `part`:
        this worker's number and the part's, if it has events (`Part`)."""
        outcomes: list[Any] = []
        for o in self.outcomes:
            assert not o.replayed  # the bulk path answers no idempotency key
            versions, names = o.recorded_versions, o.events
            if (
                o.error is None
                and len(names) == 1
                and names[0] == USUAL
                and versions == [o.version]
                and type(o.version) is int
            ):
                outcomes.append(o.version)
                continue
            error = _NotFound(o.case_id) if isinstance(o.error, CaseNotFound) else o.error
            outcomes.append((o.version, names, versions, error))
        appendable = self.appendable
        parts = [(*part, len(appendable[0]))] if part is not None and appendable[0] else []
        return outcomes, appendable, parts

    @staticmethod
    def arrived(packed: Packed, items: Sequence[MissedInstallment]) -> Prepared:
        """The chunk as prepared for `items` (the ones sent, in the order sent)."""
        answers, (ids, versions, topics, states), parts = packed
        outcomes = []
        # The items that recorded events, by their own id objects: building a UUID from each
        # event's text cost the server more than a microsecond per case.
        written = set()
        for item, answer in zip(items, answers, strict=True):
            if type(answer) is int:
                outcomes.append(
                    Outcome(
                        item.case_id, version=answer, events=[USUAL], recorded_versions=[answer]
                    )
                )
                written.add(item.case_id)
                continue
            version, names, recorded, error = answer
            if isinstance(error, _NotFound):
                error = CaseNotFound(error.case_id)
            outcomes.append(
                Outcome(
                    item.case_id,
                    version=version,
                    events=names,
                    error=error,
                    recorded_versions=recorded,
                )
            )
            if names:
                written.add(item.case_id)
        return Prepared(
            outcomes,
            here=False,
            written=written,
            columns=(ids, versions, topics, states),
            parts=parts,
        )


class _NotFound(Exception):
    def __init__(self, case_id: UUID) -> None:
        super().__init__(case_id)
        self.case_id = case_id
