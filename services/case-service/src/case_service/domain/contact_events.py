"""The event catalogue, part 2: reminders, contact attempts, visits, agencies, complaints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from .contactability import LOST, REACHABLE, fresh_tracking, track_attempt
from .events import CaseEvent
from .state import CaseState


class ReminderSent(CaseEvent):
    delivered_via: str
    served_at: datetime
    proof: str | None

    def apply(self, aggregate: CaseState) -> None:
        aggregate.reminders_sent += 1


class ContactAttempted(CaseEvent):
    """Version 2 adds `caller_line`: the bank's outbound line the call was placed from."""

    class_version: ClassVar[int] = 2
    personal_data: ClassVar[tuple[str, ...]] = ("contact_point", "notes")
    channel: str
    party: str
    contact_point: str
    outcome: str
    occurred_at: datetime
    local_time_of_day: str  # morning | afternoon | evening, in the borrower's time zone
    agent_id: str | None
    recording_ref: str | None
    notes: str | None
    caller_line: str | None
    fields_added: ClassVar[dict[str, int]] = {"caller_line": 2}

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v1 -> v2: attempts recorded before caller lines were kept name none."""
        state["caller_line"] = None

    def apply(self, aggregate: CaseState) -> None:
        aggregate.contact_attempts += 1
        if self.outcome == "right_party_contact":
            aggregate.contact_tracking = fresh_tracking()
        else:
            by_line = aggregate.jurisdiction in aggregate.policy.lost_contact_caller_lines
            track_attempt(
                aggregate.contact_tracking,
                channel=self.channel,
                contact_point=self.caller_line
                if by_line and self.caller_line
                else self.contact_point,
                outcome=self.outcome,
                period=self.local_time_of_day,
            )


class ContactLost(CaseEvent):
    """失联: the 3:3:3 rule was met without reaching the borrower."""

    as_of: datetime
    numbers_tried: int
    times_of_day: list[str]
    call_attempts: int
    sms_sent: int

    def apply(self, aggregate: CaseState) -> None:
        aggregate.contactability = LOST


class ContactRegained(CaseEvent):
    channel: str
    occurred_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.contactability = REACHABLE
        aggregate.contact_tracking = fresh_tracking()


class FieldVisitMade(CaseEvent):
    personal_data: ClassVar[tuple[str, ...]] = ("address", "notes")
    visited_at: datetime
    address: str
    outcome: str
    agent_id: str | None
    notes: str | None

    def apply(self, aggregate: CaseState) -> None:
        aggregate.field_visits += 1


class PlacedWithAgency(CaseEvent):
    agency_id: str
    consent_ref: str  # PIPL art. 23: separate consent before sharing personal data
    placed_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.agency_id, aggregate.agency_consent_ref = self.agency_id, self.consent_ref


class RecalledFromAgency(CaseEvent):
    agency_id: str
    reason: str
    recalled_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.agency_id, aggregate.agency_consent_ref = None, None


class ComplaintReceived(CaseEvent):
    personal_data: ClassVar[tuple[str, ...]] = ("description",)
    complaint_id: str
    channel: str
    category: str
    description: str
    received_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.complaints[self.complaint_id] = {
            "status": "open",
            "category": self.category,
            "received_at": self.received_at,
        }


class ComplaintResolved(CaseEvent):
    personal_data: ClassVar[tuple[str, ...]] = ("resolution",)
    complaint_id: str
    resolution: str
    resolved_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.complaints[self.complaint_id]["status"] = "resolved"


class DisputeRaised(CaseEvent):
    personal_data: ClassVar[tuple[str, ...]] = ("reason",)
    reason: str
    raised_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.in_dispute = True
