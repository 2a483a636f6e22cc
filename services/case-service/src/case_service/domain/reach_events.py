"""The event catalogue, part 4: where and under which rules the borrower is reached.

A case's jurisdiction (which contact-conduct profile governs it), the time zones the borrower
may be in, and the contact points (numbers, e-mail addresses) with their owner and source:
the facts contact-service's guard decides on, recorded here so they are the case's, not a
caller's assertion.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from .events import CaseEvent
from .state import CaseState


class JurisdictionChanged(CaseEvent):
    """The profile governing contact changes (the borrower moved, a portfolio transfer)."""

    from_jurisdiction: str
    to_jurisdiction: str
    reason: str
    changed_by: str | None
    changed_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.__dict__["_jurisdiction"] = self.to_jurisdiction


class ContactPointAdded(CaseEvent):
    """A number or e-mail address the case did not know: who it belongs to, where it came
    from (skip-trace, the borrower, a third party), and, for a phone, its zone if known."""

    personal_data: ClassVar[tuple[str, ...]] = ("contact_point",)
    contact_point: str
    channel_kind: str  # phone | email
    kind: str  # mobile | home | work | email
    owner: str
    source: str
    timezone: str | None
    added_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        points = list(aggregate.contact_points)
        points.append(
            {
                "contact_point": self.contact_point,
                "channel_kind": self.channel_kind,
                "kind": self.kind,
                "owner": self.owner,
                "source": self.source,
                "timezone": self.timezone,
                "added_at": self.added_at,
            }
        )
        aggregate.__dict__["_contact_points"] = points
        if self.timezone is not None:
            aggregate.add_candidate_zone(self.timezone)


class TimezoneCandidateAdded(CaseEvent):
    """Another zone the borrower may be in (a new address, a phone number's country): the
    hours are then checked in every candidate zone."""

    timezone: str
    source: str
    added_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.add_candidate_zone(self.timezone)
