"""What the contact policy reasons about: plain, immutable values (no I/O, no framework).

The guard and the strategy are pure functions of these values and "now"; the read model
builds them from the case events, the tests build them by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from contact_service import sealing

# Parties (DESIGN §4): the debtors, and third parties who may only be asked to pass on a
# message or help locate the borrower.
DEBTORS = frozenset({"borrower", "co_borrower", "guarantor"})
THIRD_PARTIES = frozenset({"spouse", "employer", "emergency_contact"})
PARTIES = DEBTORS | THIRD_PARTIES
CHANNELS = ("call", "sms", "email", "app_push", "letter", "visit")

# Outcomes of a call (the case-service catalogue).
CONVERSATION_OUTCOMES = frozenset({"right_party_contact", "refused_to_pay"})
CONNECTED_OUTCOMES = CONVERSATION_OUTCOMES | {"third_party_contact"}
UNANSWERED_OUTCOMES = frozenset({"no_answer", "busy", "voicemail"})
# A call that never reached the dialled number (busy signal, network failure).
NOT_CONNECTED_TO_NUMBER = frozenset({"busy", "disconnected", "failed"})

# States of a contact point.
VALID = "valid"
WRONG_NUMBER = "wrong_number"
UNREACHABLE = "unreachable"
DO_NOT_CONTACT = "do_not_contact"

# Case-level flags (from events or from a supervisor's restriction).
FLAG_DO_NOT_CONTACT = "do_not_contact"
FLAG_DECEASED = "deceased"
FLAG_BANKRUPT = "bankrupt"
FLAG_ATTORNEY = "attorney"
FLAG_CEASE = "cease_communication"
FLAG_WORKPLACE_FORBIDDEN = "workplace_forbidden"
FLAG_QUIET_HOURS_CONSENT = "quiet_hours_consent"
# UK-CONC: a vulnerable customer (changes the ladder); the facts escalation waits for.
FLAG_VULNERABLE = "vulnerable"
FLAG_FORBEARANCE_OFFERED = "forbearance_offered"
FLAG_ARREARS_SHEET_SENT = "arrears_information_sheet_sent"
# Flags that loosen a rule: recorded only with evidence (a recording or a document).
LOOSENING_FLAGS = frozenset(
    {FLAG_QUIET_HOURS_CONSENT, FLAG_FORBEARANCE_OFFERED, FLAG_ARREARS_SHEET_SENT}
)
CASE_FLAGS = frozenset(
    {
        FLAG_VULNERABLE,
        FLAG_FORBEARANCE_OFFERED,
        FLAG_ARREARS_SHEET_SENT,
        FLAG_DO_NOT_CONTACT,
        FLAG_DECEASED,
        FLAG_BANKRUPT,
        FLAG_ATTORNEY,
        FLAG_CEASE,
        FLAG_WORKPLACE_FORBIDDEN,
        FLAG_QUIET_HOURS_CONSENT,
    }
)

_NOT_DIGITS = re.compile(r"[^0-9+]")


@lru_cache(maxsize=65_536)  # the guard asks for the same few numbers' keys all day
def point_key(contact_point: str) -> str:
    """A contact point as compared and stored: the blind index of its normalised form
    (contact_service.sealing), so matching never needs the number; an index is its own key."""
    value = contact_point.strip()
    if sealing.is_index(value):
        return value
    return sealing.index(normal_point(value))


def forget_point_keys() -> None:
    """After the blind-index key changed (sealing.configure)."""
    point_key.cache_clear()


def normal_point(contact_point: str) -> str:
    """A phone number without spaces, dashes or brackets, an e-mail address in lower case,
    anything else (an address) as given, trimmed."""
    value = contact_point.strip()
    if "@" in value:
        return value.lower()
    digits = _NOT_DIGITS.sub("", value)
    return digits if len(digits) >= 5 else value


def mask_point(contact_point: str) -> str:
    """`+8613800000001` -> `+86*******0001`; `li@example.com` -> `l***@example.com`."""
    value = contact_point.strip()
    if sealing.is_index(value) or value.startswith(sealing.SEALED_PREFIX):
        return "[masked]"
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = normal_point(value)
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 3 if digits.startswith("+") else 2
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def mask_id(value: str) -> str:
    """`L-20260001234` -> `L-*******1234`: enough to tell cases apart, not to look one up."""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 6) + value[-4:]


@dataclass(frozen=True)
class ContactPoint:
    """A phone number, e-mail or address of one party, and its state."""

    value: str  # the blind index (point_key)
    party: str
    kind: str = "mobile"  # mobile | home | work | email | address | app
    state: str = VALID
    opted_out: frozenset[str] = frozenset()  # channels the owner opted out of on this point

    @property
    def workplace(self) -> bool:
        return self.kind == "work" or self.party == "employer"


@dataclass(frozen=True)
class CaseView:
    """The case as the policy sees it."""

    case_id: str
    timezone: str
    status: str = "open"
    # Every zone the borrower may be in when the location is ambiguous (the primary first).
    candidate_timezones: tuple[str, ...] = ()
    contactability: str = "reachable"  # reachable | lost (3:3:3 met, ContactLost)
    flags: frozenset[str] = frozenset()
    opted_out_channels: frozenset[str] = frozenset()  # channel-wide opt-outs / written cease
    in_dispute: bool = False
    open_complaints: int = 0
    points: tuple[ContactPoint, ...] = ()
    jurisdiction: str | None = None  # None: the service's default profile

    @property
    def zones(self) -> tuple[str, ...]:
        zones = [self.timezone, *self.candidate_timezones]
        return tuple(dict.fromkeys(zones))

    def point(self, value: str) -> ContactPoint | None:
        key = point_key(value)
        for point in self.points:
            if point_key(point.value) == key:
                return point
        return None

    def borrower_unreachable(self) -> bool:
        """Lost contact (3:3:3), or no usable number of the borrower left."""
        if self.contactability == "lost":
            return True
        phones = [p for p in self.points if p.party == "borrower" and p.kind != "email"]
        return bool(phones) and all(p.state != VALID for p in phones)


@dataclass(frozen=True)
class Attempt:
    """One contact in the history (what case-service recorded, or one still on its way)."""

    occurred_at: datetime
    channel: str
    party: str
    contact_point: str  # the blind index (point_key)
    outcome: str
    inbound: bool = False
    masked: str = "[masked]"  # what answers show


@dataclass(frozen=True)
class ContactRequest:
    """ "May I contact this party on this channel at this point, at `at`?" """

    party: str
    channel: str
    contact_point: str
    at: datetime | None  # None: now
    purpose: str = "collect"  # collect | locate | message (third parties: never collect)
    inbound: bool = False


@dataclass(frozen=True)
class Reason:
    code: str
    message: str
    rule: str  # the rule's id in the profile, which cites its source

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message, "rule": self.rule}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...] = ()
    next_allowed_at: datetime | None = None
    profile: str = ""
    profile_version: str = ""
    notes: tuple[str, ...] = field(default=())
    # Every rule of the profile and its outcome here: refused | passed | obligation.
    evaluated: tuple[tuple[str, str], ...] = field(default=())

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]
