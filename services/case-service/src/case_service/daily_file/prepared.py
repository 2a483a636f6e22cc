"""A chunk of the file after its cases' rules ran: an outcome per item, events to append."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from case_service.commands import CaseNotFound, Outcome


@dataclass
class Prepared:
    outcomes: list[Outcome]
    events: list[StoredEvent] = field(default_factory=list)

    @property
    def case_ids(self) -> set[UUID]:
        ids = {event.originator_id for event in self.events}  # a few events per case
        return {i if isinstance(i, UUID) else UUID(i) for i in ids}

    def portable(self) -> Prepared:
        """Fit to cross a process boundary: an unknown case's error is rebuilt on arrival
        (exceptions pickle their arguments, and CaseNotFound's is the case id)."""
        for outcome in self.outcomes:
            if isinstance(outcome.error, CaseNotFound):
                outcome.error = _NotFound(outcome.case_id)
        return self

    def arrived(self) -> Prepared:
        for outcome in self.outcomes:
            if isinstance(outcome.error, _NotFound):
                outcome.error = CaseNotFound(outcome.error.case_id)
        return self


class _NotFound(Exception):
    def __init__(self, case_id: UUID) -> None:
        super().__init__(case_id)
        self.case_id = case_id
