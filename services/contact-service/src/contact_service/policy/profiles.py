"""Jurisdiction profiles: the contact rules in force, as versioned data files citing sources.

Each profile is a YAML file in `policy/profiles/` (CN, US-RegF, UK-CONC) that a compliance
officer can read and review: its name and version, its sources, and one entry per rule with
the source it comes from and its parameters. The guard (guard.py) reads a profile; a rule a
profile does not list is not in force there. A changed rule is a new `version`; every
decision names the profile and version that made it. Clause references marked "(verify)" are
to be confirmed by compliance against the published text before production use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

import yaml

DEFAULT_DIR = Path(__file__).parent / "profiles"

# Every rule the guard knows; a profile lists those in force. Rules marked as obligations
# do not refuse a contact: they tell the caller what the contact must carry.
RULES = frozenset(
    {
        "all.case_open",
        "all.dnc",
        "all.deceased",
        "all.bankrupt",
        "all.cease",
        "opt_out",
        "point",
        "point.known",
        "point.owner",
        "hours",
        "calls.connected_per_day",
        "calls.unanswered_per_number",
        "calls.per_7_days",
        "calls.after_conversation",
        "third_party.unreachable",
        "third_party.purpose",
        "third_party.once",
        "attorney",
        "workplace",
        "dispute",
        "complaint",
        "vulnerable",
        "escalation.forbearance_first",
        "escalation.arrears_sheet_first",
        "call_recording",
        "opt_out_notice",
    }
)
OBLIGATIONS = frozenset({"call_recording", "opt_out_notice"})
REQUIRED = frozenset({"hours", "point.known", "point.owner", "all.case_open"})


class ProfileError(ValueError):
    """A profile file that does not describe a valid profile."""


@dataclass(frozen=True)
class LostContact:
    """The 3:3:3 reading of the profile (see docs/contact-service.md)."""

    counts: str  # borrower_numbers | caller_lines
    numbers: int
    periods_per_number: int
    delivered_sms: int
    periods: tuple[tuple[str, int], ...]
    source: str


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
    # The borrower may agree to contact outside those hours (with evidence of the consent).
    consent_overrides_hours: bool
    # Where the location is ambiguous the time must be fine in every candidate zone.
    all_candidate_zones: bool
    # Per borrower per local day: connected voice calls (None: no such cap).
    max_connected_calls_per_day: int | None
    # Per number per local day: unanswered dials.
    max_unanswered_dials_per_number_per_day: int | None
    # Per person per debt in 7 consecutive local days: call attempts (connected to the number).
    max_calls_per_7_days: int | None
    # After a telephone conversation, no call for this many days (its day is day one).
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
    # rule id -> its entry in the file (source, text, parameters).
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    lost_contact: LostContact | None = None
    title: str = ""

    def has(self, rule: str) -> bool:
        return rule in self.rules

    def param(self, rule: str, name: str, default: Any = None) -> Any:
        entry = self.rules.get(rule)
        return default if entry is None else entry.get(name, default)

    def source_of(self, rule: str) -> str:
        return str(self.rules.get(rule, {}).get("source", ""))


def _clock(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ProfileError(f"{where}: not a time of day HH:MM") from None


def _limit(rules: Mapping[str, Mapping[str, Any]], rule: str, name: str = "limit") -> int | None:
    if rule not in rules:
        return None
    value = rules[rule].get(name)
    if not isinstance(value, int) or value < 1:
        raise ProfileError(f"rule {rule}: {name} must be a positive integer")
    return value


def _lost_contact(raw: Any, where: str) -> LostContact | None:
    if raw is None:
        return None
    try:
        periods = tuple((str(n), int(h)) for n, h in raw["periods"])
        found = LostContact(
            counts=str(raw["counts"]),
            numbers=int(raw["numbers"]),
            periods_per_number=int(raw["periods_per_number"]),
            delivered_sms=int(raw["delivered_sms"]),
            periods=periods,
            source=str(raw["source"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{where}: lost_contact: {exc!r}") from None
    if found.counts not in {"borrower_numbers", "caller_lines"}:
        raise ProfileError(f"{where}: lost_contact.counts is borrower_numbers or caller_lines")
    return found


def parse_profile(raw: Any, where: str = "<profile>") -> Profile:
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: not a mapping")
    rules = raw.get("rules")
    if not isinstance(rules, dict):
        raise ProfileError(f"{where}: no rules")
    for rule, entry in rules.items():
        if rule not in RULES:
            raise ProfileError(f"{where}: unknown rule {rule!r}")
        if not isinstance(entry, dict) or not str(entry.get("source") or "").strip():
            raise ProfileError(f"{where}: rule {rule} must cite its source")
    missing = REQUIRED - set(rules)
    if missing:
        raise ProfileError(f"{where}: missing rules {sorted(missing)}")
    hours = rules["hours"]
    sources = raw.get("sources") or {}
    try:
        name, version = str(raw["name"]), str(raw["version"])
    except KeyError as exc:
        raise ProfileError(f"{where}: missing {exc.args[0]!r}") from None
    return Profile(
        name=name,
        version=version,
        sources=tuple(f"{k}: {v}" for k, v in sources.items()),
        earliest=_clock(hours.get("earliest"), f"{where} hours.earliest"),
        latest=_clock(hours.get("latest"), f"{where} hours.latest"),
        latest_inclusive=bool(hours.get("latest_inclusive", False)),
        consent_overrides_hours=bool(hours.get("consent_overrides", False)),
        all_candidate_zones=bool(hours.get("all_candidate_zones", True)),
        max_connected_calls_per_day=_limit(rules, "calls.connected_per_day"),
        max_unanswered_dials_per_number_per_day=_limit(rules, "calls.unanswered_per_number"),
        max_calls_per_7_days=_limit(rules, "calls.per_7_days"),
        conversation_cooldown_days=_limit(rules, "calls.after_conversation", "days"),
        third_party_only_when_unreachable="third_party.unreachable" in rules,
        third_party_may_discuss_debt="third_party.purpose" not in rules,
        max_location_inquiries_per_third_party=_limit(rules, "third_party.once"),
        honour_attorney="attorney" in rules,
        honour_workplace_ban="workplace" in rules,
        honour_dispute="dispute" in rules,
        honour_open_complaint="complaint" in rules,
        require_call_recording="call_recording" in rules,
        require_opt_out_notice="opt_out_notice" in rules,
        rules={str(k): dict(v) for k, v in rules.items()},
        lost_contact=_lost_contact(raw.get("lost_contact"), where),
        title=str(raw.get("title") or ""),
    )


def load_profiles(directory: Path | None = None) -> dict[str, Profile]:
    """Every `*.yaml` profile in `directory` (default: the shipped ones), by name."""
    found: dict[str, Profile] = {}
    for path in sorted((directory or DEFAULT_DIR).glob("*.yaml")):
        profile = parse_profile(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
        if profile.name in found:
            raise ProfileError(f"{path.name}: profile {profile.name!r} defined twice")
        found[profile.name] = profile
    return found


PROFILES: dict[str, Profile] = load_profiles()
CN = PROFILES["CN"]
US_REG_F = PROFILES["US-RegF"]
UK_CONC = PROFILES["UK-CONC"]


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
