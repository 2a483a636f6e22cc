"""Jurisdiction profiles: the contact rules in force, as versioned data citing their sources.

A profile is data, not code: the guard (guard.py) reads these numbers and switches. Each
field cites where the rule comes from. A changed rule is a new `version`; every decision
names the profile and version that made it. Clause references marked "(verify)" are to be
confirmed by compliance against the published text before production use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    sources: tuple[str, ...]
    # Permitted local hours: from `earliest` (inclusive) to `latest` (exclusive unless
    # `latest_inclusive`), in the borrower's time zone, on every channel but letters.
    earliest: time
    latest: time
    latest_inclusive: bool
    # The borrower may agree to contact outside those hours.
    consent_overrides_hours: bool
    # Where the location is ambiguous the time must be fine in every candidate zone.
    all_candidate_zones: bool
    # Per borrower per local day: connected voice calls (None: no such cap).
    max_connected_calls_per_day: int | None
    # Per number per local day: unanswered dials.
    max_unanswered_dials_per_number_per_day: int | None
    # Per person per debt in 7 consecutive local days: call attempts (connected to the number).
    max_calls_per_7_days: int | None
    # After a telephone conversation, no call for this many days (the conversation's day is
    # day one).
    conversation_cooldown_days: int | None
    # Third parties: only when the borrower is unreachable, only to locate or pass on a message.
    third_party_only_when_unreachable: bool
    third_party_may_discuss_debt: bool
    # How many location inquiries per third party (None: no cap).
    max_location_inquiries_per_third_party: int | None
    honour_attorney: bool
    honour_workplace_ban: bool
    honour_dispute: bool
    honour_open_complaint: bool
    # Every connected call must carry a recording reference.
    require_call_recording: bool
    # Every e-mail and text must carry an opt-out instruction.
    require_opt_out_notice: bool


CN = Profile(
    name="CN",
    version="2026.1",
    sources=(
        "GB/T 45251-2025 (post-loan collection of consumer credit, national standard)",
        "China Banking Association, consumer-loan collection guideline (催收工作指引)",
        "PRC Criminal Law art. 293-1 (harassing collection)",
        "PRC Personal Information Protection Law arts. 6, 23",
    ),
    # GB/T 45251-2025 and the CBA guideline: no collection contact 22:00-08:00 local time
    # unless the borrower agreed.
    earliest=time(8, 0),
    latest=time(22, 0),
    latest_inclusive=False,
    consent_overrides_hours=True,
    # Bank policy (conservative reading of the standard): an unknown location must be fine
    # in every candidate zone.
    all_candidate_zones=True,
    # GB/T 45251-2025 / CBA guideline: at most 3 connected voice calls per borrower per day.
    max_connected_calls_per_day=3,
    # GB/T 45251-2025 / CBA guideline: at most 6 unanswered dials per number per day.
    max_unanswered_dials_per_number_per_day=6,
    max_calls_per_7_days=None,
    conversation_cooldown_days=None,
    # GB/T 45251-2025 / CBA guideline: contacts and employer only when the borrower cannot be
    # reached, only to pass on a message or locate the borrower, never told about the debt.
    third_party_only_when_unreachable=True,
    third_party_may_discuss_debt=False,
    max_location_inquiries_per_third_party=None,
    # No statutory attorney bar in the PRC sources above; the workplace ban is a flag the
    # bank may still set, honoured as a restriction.
    honour_attorney=False,
    honour_workplace_ban=True,
    # CBA guideline (complaint and dispute handling, verify): collection pauses while a
    # dispute is verified or a complaint about collection is open.
    honour_dispute=True,
    honour_open_complaint=True,
    # GB/T 45251-2025 / CBA guideline: every collection call is recorded, records kept >= 5 y.
    require_call_recording=True,
    require_opt_out_notice=False,
)

US_REG_F = Profile(
    name="US-RegF",
    version="2026.1",
    sources=(
        "12 CFR part 1006 (Regulation F, CFPB), FDCPA 15 U.S.C. 1692 et seq.",
        "11 U.S.C. 362(a)(6) (automatic stay in bankruptcy)",
    ),
    # 12 CFR 1006.6(b)(1)(i): before 8 a.m. or after 9 p.m. local time is inconvenient,
    # absent the consumer's prior consent; 9:00 p.m. itself is still permitted.
    earliest=time(8, 0),
    latest=time(21, 0),
    latest_inclusive=True,
    consent_overrides_hours=True,
    # Official interpretation of 1006.6(b)(1)(i): with conflicting or ambiguous location
    # information the time must be convenient in every location the consumer might be in.
    all_candidate_zones=True,
    max_connected_calls_per_day=None,
    max_unanswered_dials_per_number_per_day=None,
    # 12 CFR 1006.14(b)(2)(i): more than 7 calls within 7 consecutive days is presumed
    # harassment; 1006.14(b)(3): calls that do not connect to the dialled number don't count.
    max_calls_per_7_days=7,
    # 12 CFR 1006.14(b)(2)(ii): no call within 7 consecutive days after a telephone
    # conversation; the conversation's date is the first of the 7 days.
    conversation_cooldown_days=7,
    # 12 CFR 1006.10 (acquisition of location information) and 1006.6(d) (no disclosure to
    # third parties): third parties only to learn the consumer's location.
    third_party_only_when_unreachable=True,
    third_party_may_discuss_debt=False,
    # 12 CFR 1006.10(b)(? verify) / FDCPA 1692b(3): not more than once per person unless asked.
    max_location_inquiries_per_third_party=1,
    # 12 CFR 1006.6(b)(2): not once the collector knows the consumer has an attorney.
    honour_attorney=True,
    # 12 CFR 1006.6(b)(3): not at the consumer's place of employment if the employer forbids.
    honour_workplace_ban=True,
    # 15 U.S.C. 1692g(b), 12 CFR 1006.34(c)(3): collection stops until a dispute is verified.
    honour_dispute=True,
    honour_open_complaint=False,
    require_call_recording=False,
    # 12 CFR 1006.6(e): every e-mail and text carries a clear opt-out method.
    require_opt_out_notice=True,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (CN, US_REG_F)}


def profile_of_case(jurisdiction: str | None, default: Profile) -> Profile:
    """The profile of a case's jurisdiction; `default` (the JURISDICTION setting) for a case
    that names none."""
    if jurisdiction is None:
        return default
    return profile_for(jurisdiction)


def profile_for(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown jurisdiction profile {name!r}; known: {', '.join(sorted(PROFILES))}"
        ) from None
