"""A chunk of the file after its cases' rules ran: an outcome per item, events to append.

Between a worker and the server a chunk travels packed (`portable`, `arrived`): plain
tuples of ints, strings and bytes, which pickle several times faster than the outcome and
event objects with their UUIDs (pickling was a fifth of the server's CPU per item). The
server knows each outcome's case (the item it answers, in the order sent), so an outcome
travels without it; an event's case travels as its id's text, the form the append sends to
PostgreSQL, so the server builds no UUID per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from case_service.commands import CaseNotFound, Outcome
from case_service.daily_file.items import MissedInstallment

# (version, event names, recorded versions, error) per outcome, in the items' order, and
# (case id text, version, topic, state) per event.
Packed = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


@dataclass
class Prepared:
    outcomes: list[Outcome]
    events: list[StoredEvent] = field(default_factory=list)
    # Prepared in this process: its cases are in this process's warm cases (warm.py).
    here: bool = True

    # The cases its events belong to, where known on arrival (see `case_ids`).
    written: set[UUID] | None = None

    @property
    def case_ids(self) -> set[UUID]:
        if self.written is not None:
            return self.written
        ids = {event.originator_id for event in self.events}  # a few events per case
        return {i if isinstance(i, UUID) else UUID(i) for i in ids}

    def portable(self) -> Packed:
        """Fit to cross a process boundary: an unknown case's error is rebuilt on arrival
        (exceptions pickle their arguments, and CaseNotFound's is the case id)."""
        outcomes = []
        for o in self.outcomes:
            assert not o.replayed  # the bulk path answers no idempotency key
            error = _NotFound(o.case_id) if isinstance(o.error, CaseNotFound) else o.error
            outcomes.append((o.version, o.events, o.recorded_versions, error))
        events = []
        case_id: object = None
        for e in self.events:
            if e.originator_id is not case_id:  # a case's events come together: one text each
                case_id, text = e.originator_id, str(e.originator_id)
            events.append((text, e.originator_version, e.topic, e.state))
        return outcomes, events

    @staticmethod
    def arrived(packed: Packed, items: Sequence[MissedInstallment]) -> Prepared:
        """The chunk as prepared for `items` (the ones sent, in the order sent)."""
        outcomes, events = packed
        return Prepared(
            [
                Outcome(
                    item.case_id,
                    version=version,
                    events=names,
                    error=CaseNotFound(error.case_id) if isinstance(error, _NotFound) else error,
                    recorded_versions=recorded,
                )
                for item, (version, names, recorded, error) in zip(items, outcomes, strict=True)
            ],
            [
                StoredEvent(
                    originator_id=case_id,
                    originator_version=version,
                    topic=topic,
                    state=state,
                )
                for case_id, version, topic, state in events
            ],
            here=False,
            # The items that recorded events, by their own id objects: building a UUID from
            # each event's text cost the server more than a microsecond per case.
            written={i.case_id for i, o in zip(items, outcomes, strict=True) if o[1]},
        )


class _NotFound(Exception):
    def __init__(self, case_id: UUID) -> None:
        super().__init__(case_id)
        self.case_id = case_id
