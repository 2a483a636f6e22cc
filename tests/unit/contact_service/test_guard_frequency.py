"""Call frequency: 3 connected calls and 6 unanswered dials a day (CN); 7 in 7 days (US)."""

from __future__ import annotations

from datetime import timedelta

from contact_service.policy import CN, US_REG_F, decide

from .helpers import N1, N2, NY, SH, US1, ask, calls, case, local

NOON = local(SH, 2026, 11, 2, 12, 0)


def test_cn_allows_the_3rd_connected_call_of_the_day() -> None:
    history = calls(local(SH, 2026, 11, 2, 9, 0), 2, outcome="right_party_contact")
    assert decide(case(), history, CN, ask(NOON), NOON).allowed


def test_cn_forbids_the_4th_connected_call_until_local_midnight() -> None:
    history = calls(local(SH, 2026, 11, 2, 9, 0), 3, outcome="right_party_contact")
    decision = decide(case(), history, CN, ask(NOON, point=N2), NOON)
    assert decision.codes == ["connected_calls_per_day"]
    # Local midnight clears the cap, but 00:00 is outside hours: 08:00 next day.
    assert decision.next_allowed_at == local(SH, 2026, 11, 3, 8, 0)


def test_cn_connected_calls_of_yesterday_do_not_count_today() -> None:
    history = calls(local(SH, 2026, 11, 1, 21, 0), 3, outcome="right_party_contact")
    assert decide(case(), history, CN, ask(NOON), NOON).allowed


def test_cn_counts_days_in_the_borrowers_zone() -> None:
    # 23:30 UTC on 1 Nov is 07:30 on 2 Nov in Shanghai: the same local day as NOON.
    from datetime import UTC, datetime

    history = calls(datetime(2026, 11, 1, 23, 30, tzinfo=UTC), 3, outcome="refused_to_pay")
    assert not decide(case(), history, CN, ask(NOON), NOON).allowed


def test_cn_allows_the_6th_unanswered_dial_to_a_number() -> None:
    history = calls(local(SH, 2026, 11, 2, 9, 0), 5)
    assert decide(case(), history, CN, ask(NOON), NOON).allowed


def test_cn_forbids_the_7th_unanswered_dial_to_that_number_only() -> None:
    history = calls(local(SH, 2026, 11, 2, 9, 0), 6)
    decision = decide(case(), history, CN, ask(NOON), NOON)
    assert decision.codes == ["unanswered_dials_per_day"]
    assert decision.next_allowed_at == local(SH, 2026, 11, 3, 8, 0)
    assert decide(case(), history, CN, ask(NOON, point=N2), NOON).allowed


def test_cn_caps_do_not_apply_to_texts() -> None:
    history = calls(local(SH, 2026, 11, 2, 9, 0), 6)
    assert decide(case(), history, CN, ask(NOON, channel="sms"), NOON).allowed


MONDAY = local(NY, 2026, 11, 2, 10, 0)


def _week(n: int, outcome: str = "no_answer") -> list:  # type: ignore[type-arg]
    """n calls, one a day from Monday on (at 10:00 New York)."""
    return [
        a
        for day in range(n)
        for a in calls(MONDAY + timedelta(days=day), 1, point=US1, outcome=outcome)
    ]


def test_us_allows_the_7th_call_in_7_days() -> None:
    at = MONDAY + timedelta(days=6, hours=2)
    assert decide(case(NY), _week(6), US_REG_F, ask(at, point=US1), at).allowed


def test_us_forbids_the_8th_call_in_7_days_until_the_first_leaves_the_window() -> None:
    at = MONDAY + timedelta(days=6, hours=2)  # Sunday
    decision = decide(case(NY), _week(7), US_REG_F, ask(at, point=US1), at)
    assert decision.codes == ["calls_in_7_days"]
    # Monday's call leaves the 7-day window on the next Monday; 08:00 there.
    assert decision.next_allowed_at == local(NY, 2026, 11, 9, 8, 0)


def test_us_calls_that_never_reached_the_number_do_not_count() -> None:
    at = MONDAY + timedelta(days=6, hours=2)
    history = _week(6) + calls(MONDAY, 3, point=US1, outcome="busy")
    assert decide(case(NY), history, US_REG_F, ask(at, point=US1), at).allowed


def test_us_counts_calls_per_person() -> None:
    at = MONDAY + timedelta(days=6, hours=2)
    history = _week(7)
    assert decide(
        case(NY, contactability="lost"),
        history,
        US_REG_F,
        ask(at, party="spouse", point="+12125550199", purpose="locate"),
        at,
    ).allowed


def test_us_no_call_within_7_days_after_a_conversation() -> None:
    history = calls(MONDAY, 1, point=US1, outcome="right_party_contact")
    sunday = MONDAY + timedelta(days=6, hours=1)
    decision = decide(case(NY), history, US_REG_F, ask(sunday, point=US1), sunday)
    assert decision.codes == ["conversation_cooldown"]
    assert decision.next_allowed_at == local(NY, 2026, 11, 9, 8, 0)
    next_monday = local(NY, 2026, 11, 9, 8, 0)
    assert decide(case(NY), history, US_REG_F, ask(next_monday, point=US1), next_monday).allowed


def test_us_an_unanswered_call_starts_no_cooldown() -> None:
    history = calls(MONDAY, 1, point=US1, outcome="voicemail")
    later = MONDAY + timedelta(hours=2)
    assert decide(case(NY), history, US_REG_F, ask(later, point=US1), later).allowed


def test_us_the_cooldown_is_for_calls_not_letters() -> None:
    history = calls(MONDAY, 1, point=US1, outcome="right_party_contact")
    later = MONDAY + timedelta(hours=2)
    assert decide(
        case(NY), history, US_REG_F, ask(later, channel="letter", point=US1), later
    ).allowed


def test_cn_has_no_seven_day_rule() -> None:
    history = [a for d in range(7) for a in calls(NOON - timedelta(days=d + 1), 2, point=N1)]
    assert decide(case(), history, CN, ask(NOON), NOON).allowed


def test_several_timed_reasons_clear_at_the_latest_of_them() -> None:
    history = _week(7)
    late = MONDAY + timedelta(days=6, hours=12)  # Sunday 22:00: also outside hours
    decision = decide(case(NY), history, US_REG_F, ask(late, point=US1), late)
    assert set(decision.codes) == {"outside_hours", "calls_in_7_days"}
    assert decision.next_allowed_at == local(NY, 2026, 11, 9, 8, 0)


def test_inbound_calls_do_not_count() -> None:
    inbound = [
        a.__class__(a.occurred_at, a.channel, a.party, a.contact_point, a.outcome, True)
        for a in calls(local(SH, 2026, 11, 2, 9, 0), 5, outcome="right_party_contact")
    ]
    assert decide(case(), inbound, CN, ask(NOON), NOON).allowed
    assert N1  # the default number
