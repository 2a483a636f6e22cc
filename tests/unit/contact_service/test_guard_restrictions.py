"""Lasting restrictions: flags, contact point states, third parties, inbound contact."""

from __future__ import annotations

import pytest
from contact_service.policy import CN, US_REG_F, ContactPoint, decide
from contact_service.policy import model as m

from .helpers import (
    CO_BORROWER,
    EMERGENCY,
    GUARANTOR,
    N1,
    N2,
    NY,
    SH,
    SPOUSE,
    US1,
    WORK,
    ask,
    calls,
    case,
    local,
)

NOON = local(SH, 2026, 11, 2, 12, 0)
NY_NOON = local(NY, 2026, 11, 2, 12, 0)


@pytest.mark.parametrize(
    ("flag", "code"),
    [
        (m.FLAG_DO_NOT_CONTACT, "do_not_contact"),
        (m.FLAG_DECEASED, "deceased"),
        (m.FLAG_BANKRUPT, "bankrupt"),
        (m.FLAG_CEASE, "cease"),
    ],
)
@pytest.mark.parametrize("profile", [CN, US_REG_F])
def test_every_profile_honours_the_lasting_flags(flag: str, code: str, profile: m.object) -> None:  # type: ignore[name-defined]
    decision = decide(case(flags=frozenset({flag})), [], profile, ask(NOON), NOON)
    assert not decision.allowed
    assert code in decision.codes
    assert decision.next_allowed_at is None


def test_a_closed_case_is_not_contacted() -> None:
    decision = decide(case(status="closed"), [], CN, ask(NOON), NOON)
    assert decision.codes == ["case_closed"]


def test_us_honours_an_attorney_cn_profile_does_not_know_the_rule() -> None:
    represented = case(NY, flags=frozenset({m.FLAG_ATTORNEY}))
    assert decide(represented, [], US_REG_F, ask(NY_NOON, point=US1), NY_NOON).codes == ["attorney"]
    assert decide(case(flags=frozenset({m.FLAG_ATTORNEY})), [], CN, ask(NOON), NOON).allowed


@pytest.mark.parametrize("profile", [CN, US_REG_F])
def test_an_open_dispute_stops_contact(profile: m.object) -> None:  # type: ignore[name-defined]
    at = NOON if profile is CN else NY_NOON
    tz = SH if profile is CN else NY
    decision = decide(case(tz, in_dispute=True), [], profile, ask(at, point=US1), at)
    assert "dispute" in decision.codes


def test_an_open_complaint_stops_contact_where_the_profile_says_so() -> None:
    assert "open_complaint" in decide(case(open_complaints=1), [], CN, ask(NOON), NOON).codes
    assert decide(
        case(NY, open_complaints=1), [], US_REG_F, ask(NY_NOON, point=US1), NY_NOON
    ).allowed


@pytest.mark.parametrize(
    ("state", "code"),
    [
        (m.WRONG_NUMBER, "wrong_number"),
        (m.DO_NOT_CONTACT, "point_do_not_contact"),
        (m.UNREACHABLE, "unreachable"),
    ],
)
def test_a_marked_number_is_not_dialled_but_the_others_are(state: str, code: str) -> None:
    points = (ContactPoint(N1, "borrower", "mobile", state), ContactPoint(N2, "borrower", "home"))
    decision = decide(case(points=points), [], CN, ask(NOON, point=N1), NOON)
    assert decision.codes == [code]
    assert decision.next_allowed_at is None
    assert decide(case(points=points), [], CN, ask(NOON, point=N2), NOON).allowed


def test_numbers_match_whatever_their_formatting() -> None:
    points = (ContactPoint(m.point_key(N1), "borrower", "mobile", m.WRONG_NUMBER),)
    assert not decide(
        case(points=points), [], CN, ask(NOON, point="+86 138-0000-0001"), NOON
    ).allowed


def test_an_opt_out_bars_the_channel_only() -> None:
    opted = case(NY, opted_out_channels=frozenset({"sms"}))
    assert decide(opted, [], US_REG_F, ask(NY_NOON, channel="sms", point=US1), NY_NOON).codes == [
        "opted_out"
    ]
    assert decide(opted, [], US_REG_F, ask(NY_NOON, point=US1), NY_NOON).allowed


def test_an_opt_out_on_one_point() -> None:
    points = (ContactPoint(N1, "borrower", "mobile", opted_out=frozenset({"sms"})),)
    assert not decide(case(points=points), [], CN, ask(NOON, channel="sms"), NOON).allowed


def test_no_workplace_contact_where_forbidden() -> None:
    banned = case(flags=frozenset({m.FLAG_WORKPLACE_FORBIDDEN}), contactability="lost")
    decision = decide(
        banned, [], CN, ask(NOON, party="employer", point=WORK, purpose="locate"), NOON
    )
    assert decision.codes == ["workplace"]
    work_phone = (ContactPoint(WORK, "borrower", "work"), ContactPoint(N1, "borrower", "mobile"))
    banned = case(flags=frozenset({m.FLAG_WORKPLACE_FORBIDDEN}), points=work_phone)
    assert decide(banned, [], CN, ask(NOON, point=WORK), NOON).codes == ["workplace"]
    assert decide(banned, [], CN, ask(NOON, point=N1), NOON).allowed


def test_third_parties_only_when_the_borrower_is_unreachable() -> None:
    request = ask(NOON, party="spouse", point=SPOUSE, purpose="locate")
    decision = decide(case(), [], CN, request, NOON)
    assert decision.codes == ["borrower_reachable"]
    assert decision.next_allowed_at is None
    assert decide(case(contactability="lost"), [], CN, request, NOON).allowed


def test_a_borrower_without_a_valid_number_is_unreachable() -> None:
    points = (
        ContactPoint(N1, "borrower", "mobile", m.WRONG_NUMBER),
        ContactPoint(N2, "borrower", "home", m.UNREACHABLE),
        ContactPoint(SPOUSE, "spouse", "mobile"),
    )
    request = ask(NOON, party="spouse", point=SPOUSE, purpose="message")
    assert decide(case(points=points), [], CN, request, NOON).allowed


def test_a_third_party_is_never_asked_to_pay() -> None:
    request = ask(NOON, party="emergency_contact", point=EMERGENCY, purpose="collect")
    assert decide(case(contactability="lost"), [], CN, request, NOON).codes == [
        "third_party_purpose"
    ]


def test_guarantors_and_co_borrowers_are_debtors_not_third_parties() -> None:
    for party, point in (("guarantor", GUARANTOR), ("co_borrower", CO_BORROWER)):
        assert decide(case(), [], CN, ask(NOON, party=party, point=point), NOON).allowed


def test_us_one_location_inquiry_per_third_party() -> None:
    lost = case(NY, contactability="lost")
    request = ask(NY_NOON, party="spouse", point="+12125550199", purpose="locate")
    assert decide(lost, [], US_REG_F, request, NY_NOON).allowed
    asked = calls(
        NY_NOON.replace(hour=9),
        1,
        party="spouse",
        point="+12125550199",
        outcome="third_party_contact",
    )
    assert decide(lost, asked, US_REG_F, request, NY_NOON).codes == ["location_inquiry_done"]


def test_an_inbound_call_from_the_borrower_is_always_allowed() -> None:
    late = local(SH, 2026, 11, 2, 23, 0)
    dnc = case(flags=frozenset({m.FLAG_DO_NOT_CONTACT}))
    decision = decide(dnc, [], CN, ask(late, inbound=True), late)
    assert decision.allowed
    assert "inbound" in decision.notes


def test_an_inbound_contact_from_a_third_party_is_still_checked() -> None:
    late = local(SH, 2026, 11, 2, 23, 0)
    request = ask(late, party="spouse", point=SPOUSE, purpose="locate", inbound=True)
    assert not decide(case(), [], CN, request, late).allowed


def test_every_decision_names_its_profile_and_version() -> None:
    decision = decide(case(), [], CN, ask(NOON), NOON)
    assert (decision.profile, decision.profile_version) == ("CN", CN.version)


def test_reasons_add_up() -> None:
    late = local(SH, 2026, 11, 2, 23, 0)
    flagged = case(flags=frozenset({m.FLAG_DECEASED}), in_dispute=True)
    decision = decide(flagged, [], CN, ask(late), late)
    assert set(decision.codes) == {"deceased", "dispute", "outside_hours"}
    assert decision.next_allowed_at is None


def test_phone_numbers_are_masked_for_display() -> None:
    assert m.mask_point(N1) == "+86*******0001"
    assert m.mask_point("li.wei@example.com") == "l***@example.com"
