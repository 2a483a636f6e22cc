"""Commands on where and under which rules the borrower is reached: jurisdiction, candidate
time zones, contact points."""

from __future__ import annotations

from datetime import datetime

from . import checks
from .errors import CommandForbidden, InvalidCommand
from .jurisdiction import JURISDICTIONS
from .points import point_key
from .reach_events import ContactPointAdded, JurisdictionChanged, TimezoneCandidateAdded
from .state import CaseState

POINT_KINDS = ("mobile", "home", "work", "email")
POINT_OWNERS = ("borrower", "spouse", "co_borrower", "guarantor", "employer", "emergency_contact")
POINT_SOURCES = ("borrower", "skip_trace", "third_party", "application", "bureau", "agent")
ZONE_SOURCES = ("address", "phone_country", "borrower", "skip_trace", "agent")
MAX_POINTS = 100
MAX_ZONES = 10


class ReachCommands(CaseState):
    def known_point(self, value: str) -> bool:
        return self.owner_of(value) is not None

    def change_jurisdiction(
        self,
        *,
        jurisdiction: str,
        reason: str,
        changed_by: str | None = None,
        changed_at: datetime,
        now: datetime,
    ) -> None:
        now = self._command(now)
        jurisdiction = checks.choice(jurisdiction, JURISDICTIONS, "jurisdiction")
        reason = checks.text(reason, "reason")
        changed_by = checks.optional_text(changed_by, "changed_by")
        changed_at = checks.instant(changed_at, "changed_at", now=now)
        if jurisdiction == self.jurisdiction:
            raise CommandForbidden(
                f"the case is already under {jurisdiction}", field="jurisdiction"
            )
        self.trigger_event(
            JurisdictionChanged,
            timestamp=now,
            from_jurisdiction=self.jurisdiction,
            to_jurisdiction=jurisdiction,
            reason=reason,
            changed_by=changed_by,
            changed_at=changed_at,
        )

    def add_contact_point(
        self,
        *,
        number: str | None = None,
        email: str | None = None,
        kind: str | None = None,
        owner: str,
        source: str,
        timezone: str | None = None,
        added_at: datetime | None = None,
        now: datetime,
    ) -> None:
        now = self._command(now)
        if (number is None) == (email is None):
            raise InvalidCommand("give a number or an email, not both", field="number")
        channel_kind = "phone" if number is not None else "email"
        value = checks.text(number if number is not None else email, channel_kind, max_length=254)
        default_kind = "mobile" if channel_kind == "phone" else "email"
        kind = checks.choice(kind or default_kind, POINT_KINDS, "kind")
        if (kind == "email") != (channel_kind == "email"):
            raise InvalidCommand(
                "an e-mail address has kind email, a number does not", field="kind"
            )
        owner = checks.choice(owner, POINT_OWNERS, "owner")
        source = checks.choice(source, POINT_SOURCES, "source")
        zone = checks.timezone(timezone, "timezone") if timezone is not None else None
        moment = checks.instant(added_at, "added_at", now=now) if added_at else now
        if self.known_point(value):
            raise CommandForbidden("the case already knows this contact point", field=channel_kind)
        if len(self.contact_points) >= MAX_POINTS:
            raise CommandForbidden(f"at most {MAX_POINTS} added contact points", field=channel_kind)
        self.trigger_event(
            ContactPointAdded,
            timestamp=now,
            contact_point=value,
            channel_kind=channel_kind,
            kind=kind,
            owner=owner,
            source=source,
            timezone=zone,
            added_at=moment,
        )

    def add_timezone_candidate(
        self, *, timezone: str, source: str, added_at: datetime | None = None, now: datetime
    ) -> None:
        now = self._command(now)
        zone = checks.timezone(timezone, "timezone")
        source = checks.choice(source, ZONE_SOURCES, "source")
        moment = checks.instant(added_at, "added_at", now=now) if added_at else now
        if zone == self.borrower["timezone"] or zone in self.candidate_timezones:
            raise CommandForbidden("the case already has this time zone", field="timezone")
        if len(self.candidate_timezones) >= MAX_ZONES:
            raise CommandForbidden(f"at most {MAX_ZONES} candidate zones", field="timezone")
        self.trigger_event(
            TimezoneCandidateAdded, timestamp=now, timezone=zone, source=source, added_at=moment
        )


__all__ = ["ReachCommands", "point_key"]  # point_key: re-exported for callers
