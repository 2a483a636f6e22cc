"""Commands on contact: attempts, reminders and notices, visits, agencies, complaints."""

from __future__ import annotations

from datetime import datetime

from arrears.vocabulary import CHANNELS, OUTCOMES, PARTIES

from . import checks
from .contact_events import (
    ComplaintReceived,
    ComplaintResolved,
    ContactAttempted,
    ContactLost,
    ContactRegained,
    DisputeRaised,
    FieldVisitMade,
    PlacedWithAgency,
    RecalledFromAgency,
    ReminderSent,
)
from .contactability import (
    CONNECTED_OUTCOMES,
    LOST,
    REACHABLE,
    numbers_with_full_periods,
    rule_333_met,
    time_of_day,
)
from .errors import CommandForbidden, InvalidCommand
from .legal_events import NoticeServed
from .state import CaseState

# Channels that reach a number: the number must be the case's, and its owner the party.
NUMBER_CHANNELS = ("call", "sms")
NOTICE_KINDS = ("reminder", "collection_notice", "demand_letter", "legal_notice")
DEMAND_KINDS = ("collection_notice", "demand_letter", "legal_notice")
VISIT_OUTCOMES = ("met_borrower", "met_third_party", "nobody_home", "moved_away", "refused")


class ContactCommands(CaseState):
    def record_contact_attempt(
        self,
        *,
        channel: str,
        party: str,
        contact_point: str,
        outcome: str,
        occurred_at: datetime,
        agent_id: str | None = None,
        recording_ref: str | None = None,
        notes: str | None = None,
        caller_line: str | None = None,
        now: datetime,
    ) -> None:
        now = self._command(now)
        channel = checks.choice(channel, CHANNELS, "channel")
        caller_line = checks.optional_text(caller_line, "caller_line", max_length=100)
        party = checks.choice(party, PARTIES, "party")
        contact_point = checks.text(contact_point, "contact_point")
        outcome = checks.choice(outcome, OUTCOMES, "outcome")
        occurred_at = checks.instant(occurred_at, "occurred_at", now=now)
        agent_id = checks.optional_text(agent_id, "agent_id")
        recording_ref = checks.optional_text(recording_ref, "recording_ref")
        notes = checks.optional_text(notes, "notes", max_length=checks.MAX_NOTE)
        if outcome == "right_party_contact" and party != "borrower" and party != "co_borrower":
            raise InvalidCommand("a right-party contact is with the debtor", field="party")
        if channel in NUMBER_CHANNELS:
            # The party behind a number is the case's fact, not the caller's label.
            owner = self.owner_of(contact_point)
            if owner is None:
                raise InvalidCommand(
                    "the case does not know this number: add it first (contact-points)",
                    field="contact_point",
                )
            if owner != party:
                raise InvalidCommand(
                    f"this number is the {owner}'s by the case's record, not the {party}'s",
                    field="party",
                )
        if channel == "call" and outcome in CONNECTED_OUTCOMES and recording_ref is None:
            raise InvalidCommand("every connected call must be recorded", field="recording_ref")
        self.trigger_event(
            ContactAttempted,
            timestamp=now,
            channel=channel,
            party=party,
            contact_point=contact_point,
            outcome=outcome,
            occurred_at=occurred_at,
            local_time_of_day=time_of_day(
                occurred_at, self.borrower["timezone"], self.policy.lost_contact_periods
            ),
            agent_id=agent_id,
            recording_ref=recording_ref,
            notes=notes,
            caller_line=caller_line,
        )
        if outcome == "right_party_contact":
            self._regain(channel, occurred_at, now)
        elif self.contactability == REACHABLE and rule_333_met(self.contact_tracking, self.policy):
            tracking = self.contact_tracking
            full = numbers_with_full_periods(tracking, self.policy.lost_contact_times_of_day)
            self.trigger_event(
                ContactLost,
                timestamp=now,
                as_of=occurred_at,
                numbers_tried=len(full),
                times_of_day=list(tracking["times_of_day"]),
                call_attempts=tracking["call_attempts"],
                sms_sent=tracking["sms_sent"],
            )

    def _regain(self, channel: str, occurred_at: datetime, now: datetime) -> None:
        if self.contactability == LOST:
            self.trigger_event(
                ContactRegained, timestamp=now, channel=channel, occurred_at=occurred_at
            )

    def serve_notice(
        self,
        *,
        kind: str,
        delivered_via: str,
        served_at: datetime,
        proof: str | None,
        now: datetime,
    ) -> None:
        """A reminder, or a written demand; only a demand with proof interrupts limitation."""
        now = self._command(now)
        kind = checks.choice(kind, NOTICE_KINDS, "kind")
        delivered_via = checks.text(delivered_via, "delivered_via", max_length=50)
        served_at = checks.instant(served_at, "served_at", now=now)
        proof = checks.optional_text(proof, "proof")
        if kind == "reminder":
            self.trigger_event(
                ReminderSent,
                timestamp=now,
                delivered_via=delivered_via,
                served_at=served_at,
                proof=proof,
            )
            return
        self.trigger_event(
            NoticeServed,
            timestamp=now,
            kind=kind,
            delivered_via=delivered_via,
            served_at=served_at,
            proof=proof,
            interrupts_limitation=proof is not None,
        )

    def record_field_visit(
        self,
        *,
        visited_at: datetime,
        address: str,
        outcome: str,
        agent_id: str | None = None,
        notes: str | None = None,
        now: datetime,
    ) -> None:
        now = self._command(now)
        visited_at = checks.instant(visited_at, "visited_at", now=now)
        address = checks.text(address, "address")
        outcome = checks.choice(outcome, VISIT_OUTCOMES, "outcome")
        agent_id = checks.optional_text(agent_id, "agent_id")
        notes = checks.optional_text(notes, "notes", max_length=checks.MAX_NOTE)
        self.trigger_event(
            FieldVisitMade,
            timestamp=now,
            visited_at=visited_at,
            address=address,
            outcome=outcome,
            agent_id=agent_id,
            notes=notes,
        )
        if outcome == "met_borrower":
            self._regain("visit", visited_at, now)

    def place_with_agency(
        self, *, agency_id: str, consent_ref: str, placed_at: datetime, now: datetime
    ) -> None:
        """PIPL art. 23: personal data goes to an agency only with separate consent."""
        now = self._command(now)
        agency_id = checks.text(agency_id, "agency_id")
        if consent_ref is None:
            raise InvalidCommand("PIPL needs the borrower's separate consent", field="consent_ref")
        consent_ref = checks.text(consent_ref, "consent_ref")
        placed_at = checks.instant(placed_at, "placed_at", now=now)
        if self.agency_id is not None:
            raise CommandForbidden(
                f"the case is already placed with {self.agency_id}", field="agency_id"
            )
        self.trigger_event(
            PlacedWithAgency,
            timestamp=now,
            agency_id=agency_id,
            consent_ref=consent_ref,
            placed_at=placed_at,
        )

    def recall_from_agency(self, *, reason: str, recalled_at: datetime, now: datetime) -> None:
        now = self._command(now)
        reason = checks.text(reason, "reason")
        recalled_at = checks.instant(recalled_at, "recalled_at", now=now)
        if self.agency_id is None:
            raise CommandForbidden("the case is not placed with an agency", field=None)
        self.trigger_event(
            RecalledFromAgency,
            timestamp=now,
            agency_id=self.agency_id,
            reason=reason,
            recalled_at=recalled_at,
        )

    def receive_complaint(
        self,
        *,
        complaint_id: str,
        channel: str,
        category: str,
        description: str,
        received_at: datetime,
        now: datetime,
    ) -> None:
        now = self._command(now)
        complaint_id = checks.text(complaint_id, "complaint_id", max_length=100)
        channel = checks.text(channel, "channel", max_length=50)
        category = checks.text(category, "category", max_length=100)
        description = checks.text(description, "description", max_length=checks.MAX_NOTE)
        received_at = checks.instant(received_at, "received_at", now=now)
        if complaint_id in self.complaints:
            raise CommandForbidden("this complaint is already recorded", field="complaint_id")
        self.trigger_event(
            ComplaintReceived,
            timestamp=now,
            complaint_id=complaint_id,
            channel=channel,
            category=category,
            description=description,
            received_at=received_at,
        )

    def resolve_complaint(
        self, *, complaint_id: str, resolution: str, resolved_at: datetime, now: datetime
    ) -> None:
        now = self._command(now)
        complaint_id = checks.text(complaint_id, "complaint_id", max_length=100)
        resolution = checks.text(resolution, "resolution", max_length=checks.MAX_NOTE)
        resolved_at = checks.instant(resolved_at, "resolved_at", now=now)
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise InvalidCommand("no such complaint on this case", field="complaint_id")
        if complaint["status"] != "open":
            raise CommandForbidden("the complaint is already resolved", field="complaint_id")
        self.trigger_event(
            ComplaintResolved,
            timestamp=now,
            complaint_id=complaint_id,
            resolution=resolution,
            resolved_at=resolved_at,
        )

    def raise_dispute(self, *, reason: str, raised_at: datetime, now: datetime) -> None:
        now = self._command(now)
        reason = checks.text(reason, "reason", max_length=checks.MAX_NOTE)
        raised_at = checks.instant(raised_at, "raised_at", now=now)
        self.trigger_event(DisputeRaised, timestamp=now, reason=reason, raised_at=raised_at)
