"""The profiles are data: every rule of every profile cites its source and is exercised here,
each given-history / when-asked / then-decision; a rule a profile does not list is not in
force there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from case_service.domain import DEFAULT_POLICY
from contact_service.policy import PROFILES, Attempt, CaseView, ContactRequest, Profile, decide
from contact_service.policy import model as m
from contact_service.policy.profiles import (
    DEFAULT_DIR,
    OBLIGATIONS,
    RULES,
    ProfileError,
    load_profiles,
    parse_profile,
)

from .helpers import EMERGENCY, N1, SH, SPOUSE, WORK, ask, calls, case, local

Scenario = tuple[CaseView, list[Attempt], ContactRequest, datetime]
NOON = local(SH, 2026, 11, 2, 12, 0)
LATE = local(SH, 2026, 11, 2, 23, 0)
LOST = "lost"


def _flag(flag: str, **request: Any) -> Callable[[Profile], Scenario]:
    return lambda p: (case(flags=frozenset({flag})), [], ask(NOON, **request), NOON)


def _calls_today(p: Profile) -> Scenario:
    limit = p.max_connected_calls_per_day or 0
    history = calls(NOON - timedelta(hours=2), limit, outcome="right_party_contact")
    return case(), history, ask(NOON), NOON


def _unanswered_today(p: Profile) -> Scenario:
    limit = p.max_unanswered_dials_per_number_per_day or 0
    return case(), calls(NOON - timedelta(hours=2), limit), ask(NOON), NOON


def _week(p: Profile) -> Scenario:
    limit = p.max_calls_per_7_days or 0
    history = [a for d in range(limit) for a in calls(NOON - timedelta(days=d % 6 + 1), 1)]
    return case(), history, ask(NOON), NOON


def _after_talk(p: Profile) -> Scenario:
    history = calls(NOON - timedelta(days=1), 1, outcome="right_party_contact")
    return case(), history, ask(NOON), NOON


def _asked_once(p: Profile) -> Scenario:
    history = calls(
        NOON - timedelta(days=3), 1, party="spouse", point=SPOUSE, outcome="third_party_contact"
    )
    request = ask(NOON, party="spouse", point=SPOUSE, purpose="locate")
    return case(contactability=LOST), history, request, NOON


SCENARIOS: dict[str, Callable[[Profile], Scenario]] = {
    "all.case_open": lambda p: (case(status="closed"), [], ask(NOON), NOON),
    "all.dnc": _flag(m.FLAG_DO_NOT_CONTACT),
    "all.deceased": _flag(m.FLAG_DECEASED),
    "all.bankrupt": _flag(m.FLAG_BANKRUPT),
    "all.cease": _flag(m.FLAG_CEASE),
    "attorney": _flag(m.FLAG_ATTORNEY),
    "opt_out": lambda p: (case(opted_out_channels=frozenset({"call"})), [], ask(NOON), NOON),
    "point": lambda p: (
        case(points=(m.ContactPoint(N1, "borrower", "mobile", m.WRONG_NUMBER),)),
        [],
        ask(NOON),
        NOON,
    ),
    "point.known": lambda p: (case(), [], ask(NOON, point="+8613312345678"), NOON),
    "point.owner": lambda p: (case(), [], ask(NOON, point=SPOUSE), NOON),
    "hours": lambda p: (case(), [], ask(LATE), LATE),
    "calls.connected_per_day": _calls_today,
    "calls.unanswered_per_number": _unanswered_today,
    "calls.per_7_days": _week,
    "calls.after_conversation": _after_talk,
    "third_party.unreachable": lambda p: (
        case(),
        [],
        ask(NOON, party="spouse", point=SPOUSE, purpose="locate"),
        NOON,
    ),
    "third_party.purpose": lambda p: (
        case(contactability=LOST),
        [],
        ask(NOON, party="emergency_contact", point=EMERGENCY, purpose="collect"),
        NOON,
    ),
    "third_party.once": _asked_once,
    "workplace": lambda p: (
        case(flags=frozenset({m.FLAG_WORKPLACE_FORBIDDEN}), contactability=LOST),
        [],
        ask(NOON, party="employer", point=WORK, purpose="message"),
        NOON,
    ),
    "dispute": lambda p: (case(in_dispute=True), [], ask(NOON), NOON),
    "complaint": lambda p: (case(open_complaints=1), [], ask(NOON), NOON),
    "vulnerable": lambda p: (
        case(flags=frozenset({m.FLAG_VULNERABLE, m.FLAG_FORBEARANCE_OFFERED})),
        [],
        ask(NOON, channel="visit", point="1 Renmin Road"),
        NOON,
    ),
    "escalation.forbearance_first": lambda p: (
        case(flags=frozenset({m.FLAG_ARREARS_SHEET_SENT})),
        [],
        ask(NOON, channel="visit", point="1 Renmin Road"),
        NOON,
    ),
    "escalation.arrears_sheet_first": lambda p: (
        case(flags=frozenset({m.FLAG_FORBEARANCE_OFFERED})),
        [],
        ask(NOON, channel="visit", point="1 Renmin Road"),
        NOON,
    ),
    "call_recording": lambda p: (case(), [], ask(NOON), NOON),
    "opt_out_notice": lambda p: (case(), [], ask(NOON, channel="sms"), NOON),
}
OBLIGATION_NOTES = {
    "call_recording": "record the call and send its recording_ref",
    "opt_out_notice": "include the opt-out instructions",
}
PAIRS = [(p.name, rule) for p in PROFILES.values() for rule in sorted(p.rules)]


def test_the_three_profiles_are_shipped_as_data() -> None:
    assert sorted(PROFILES) == ["CN", "UK-CONC", "US-RegF"]
    assert sorted(path.stem for path in DEFAULT_DIR.glob("*.yaml")) == sorted(PROFILES)


def test_every_rule_the_guard_knows_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(RULES)


@pytest.mark.parametrize(("name", "rule"), PAIRS)
def test_every_rule_of_every_profile_cites_its_source_and_is_exercised(
    name: str, rule: str
) -> None:
    profile = PROFILES[name]
    assert profile.source_of(rule).strip()
    view, history, request, now = SCENARIOS[rule](profile)
    decision = decide(view, history, profile, request, now)
    outcomes = dict(decision.evaluated)
    if rule in OBLIGATIONS:
        assert OBLIGATION_NOTES[rule] in decision.notes
        assert outcomes[rule] == "obligation"
        return
    assert not decision.allowed
    assert rule in {r.rule for r in decision.reasons}
    assert outcomes[rule] == "refused"
    assert (decision.profile, decision.profile_version) == (profile.name, profile.version)


@pytest.mark.parametrize(
    ("name", "rule"),
    [(p.name, r) for p in PROFILES.values() for r in sorted(RULES - set(p.rules) - OBLIGATIONS)],
)
def test_a_rule_a_profile_does_not_list_is_not_in_force_there(name: str, rule: str) -> None:
    profile = PROFILES[name]
    view, history, request, now = SCENARIOS[rule](profile)
    decision = decide(view, history, profile, request, now)
    assert rule not in {r.rule for r in decision.reasons}


def test_the_lost_contact_periods_are_case_services() -> None:
    for profile in PROFILES.values():
        assert profile.lost_contact is not None
        assert profile.lost_contact.periods == DEFAULT_POLICY.lost_contact_periods
        assert profile.lost_contact.numbers == DEFAULT_POLICY.lost_contact_numbers
        assert profile.lost_contact.periods_per_number == (DEFAULT_POLICY.lost_contact_times_of_day)


def _raw(name: str = "CN") -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((DEFAULT_DIR / f"{name}.yaml").read_text())
    return raw


def test_a_rule_without_a_source_is_refused() -> None:
    raw = _raw()
    raw["rules"]["dispute"] = {"text": "collection pauses"}
    with pytest.raises(ProfileError, match="cite its source"):
        parse_profile(raw)


def test_an_unknown_rule_or_a_missing_hours_rule_is_refused() -> None:
    raw = _raw()
    raw["rules"]["no_calls_on_tuesdays"] = {"source": "BANK"}
    with pytest.raises(ProfileError, match="unknown rule"):
        parse_profile(raw)
    raw = _raw()
    del raw["rules"]["hours"]
    with pytest.raises(ProfileError, match="missing rules"):
        parse_profile(raw)


def test_a_bank_adds_a_profile_by_adding_a_file(tmp_path: Path) -> None:
    raw = _raw()
    raw.update(name="SG", version="2026.1")
    raw["rules"]["hours"]["latest"] = "21:00"
    (tmp_path / "SG.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True))
    profiles = load_profiles(tmp_path)
    assert profiles["SG"].latest.hour == 21
