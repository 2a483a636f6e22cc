"""UK-CONC at its edges: reasonable hours (08:00 to before 21:00, the bank's reading of CONC
7.9.4R) on DST days, one conversation and three unanswered dials a day, the vulnerable flag
and forbearance and the arrears information sheet before escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from contact_service.policy import UK_CONC, ContactPoint, decide
from contact_service.policy import model as m

from .helpers import SPOUSE, ask, calls, case, local

LON = "Europe/London"
UK1 = "+447700900001"
UK2 = "+447700900002"
POINTS = (
    ContactPoint(UK1, "borrower", "mobile"),
    ContactPoint(UK2, "borrower", "home"),
    ContactPoint(SPOUSE, "spouse", "mobile"),
)
NOON = local(LON, 2026, 11, 2, 12, 0)


def uk(**kwargs: object) -> m.CaseView:
    return case(LON, points=POINTS, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hour", "minute", "second", "allowed"),
    [(7, 59, 59, False), (8, 0, 0, True), (20, 59, 59, True), (21, 0, 0, False)],
)
def test_uk_hours_at_the_exact_minute(hour: int, minute: int, second: int, allowed: bool) -> None:
    at = local(LON, 2026, 11, 2, hour, minute, second)
    assert decide(uk(), [], UK_CONC, ask(at, point=UK1), at).allowed is allowed


@pytest.mark.parametrize(
    ("utc", "allowed"),
    [
        # Spring forward, 29 March 2026: 07:00 UTC is already 08:00 BST.
        (datetime(2026, 3, 29, 6, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), True),
        # Fall back, 25 October 2026: 08:00 GMT is 08:00 UTC; 20:59 GMT the last minute.
        (datetime(2026, 10, 25, 7, 59, tzinfo=UTC), False),
        (datetime(2026, 10, 25, 8, 0, tzinfo=UTC), True),
        (datetime(2026, 10, 25, 20, 59, tzinfo=UTC), True),
        (datetime(2026, 10, 25, 21, 0, tzinfo=UTC), False),
    ],
)
def test_uk_hours_on_both_dst_days(utc: datetime, allowed: bool) -> None:
    assert decide(uk(), [], UK_CONC, ask(utc, point=UK1), utc).allowed is allowed


def test_one_conversation_a_day_clears_at_08_00_the_next_local_morning() -> None:
    talked = calls(local(LON, 2026, 11, 2, 9, 0), 1, point=UK1, outcome="right_party_contact")
    decision = decide(uk(), talked, UK_CONC, ask(NOON, point=UK2), NOON)
    assert decision.codes == ["connected_calls_per_day"]
    assert decision.next_allowed_at == local(LON, 2026, 11, 3, 8, 0)
    yesterday = calls(local(LON, 2026, 11, 1, 20, 30), 1, point=UK1, outcome="right_party_contact")
    morning = local(LON, 2026, 11, 2, 8, 0)
    assert decide(uk(), yesterday, UK_CONC, ask(morning, point=UK1), morning).allowed


def test_the_third_unanswered_dial_is_the_last_of_the_day_on_that_number() -> None:
    two = calls(NOON - timedelta(hours=3), 2, point=UK1)
    assert decide(uk(), two, UK_CONC, ask(NOON, point=UK1), NOON).allowed
    three = calls(NOON - timedelta(hours=3), 3, point=UK1)
    assert decide(uk(), three, UK_CONC, ask(NOON, point=UK1), NOON).codes == [
        "unanswered_dials_per_day"
    ]
    assert decide(uk(), three, UK_CONC, ask(NOON, point=UK2), NOON).allowed


def test_a_field_visit_waits_for_forbearance_and_the_arrears_information_sheet() -> None:
    visit = ask(NOON, channel="visit", point="10 Downing Street")
    assert {r.rule for r in decide(uk(), [], UK_CONC, visit, NOON).reasons} == {
        "escalation.forbearance_first",
        "escalation.arrears_sheet_first",
    }
    ready = uk(flags=frozenset({m.FLAG_FORBEARANCE_OFFERED, m.FLAG_ARREARS_SHEET_SENT}))
    assert decide(ready, [], UK_CONC, visit, NOON).allowed


def test_a_vulnerable_customer_gets_no_visit_and_no_third_party_contact_but_calls() -> None:
    flags = frozenset({m.FLAG_VULNERABLE, m.FLAG_FORBEARANCE_OFFERED, m.FLAG_ARREARS_SHEET_SENT})
    vulnerable = uk(flags=flags, contactability="lost")
    visit = ask(NOON, channel="visit", point="10 Downing Street")
    spouse = ask(NOON, party="spouse", point=SPOUSE, purpose="locate")
    assert decide(vulnerable, [], UK_CONC, visit, NOON).codes == ["vulnerable"]
    assert decide(vulnerable, [], UK_CONC, spouse, NOON).codes == ["vulnerable"]
    assert decide(vulnerable, [], UK_CONC, ask(NOON, point=UK1), NOON).allowed
    not_flagged = uk(flags=flags - {m.FLAG_VULNERABLE}, contactability="lost")
    assert decide(not_flagged, [], UK_CONC, spouse, NOON).allowed


def test_an_open_complaint_does_not_stop_uk_collection_but_a_dispute_does() -> None:
    assert decide(uk(open_complaints=1), [], UK_CONC, ask(NOON, point=UK1), NOON).allowed
    assert decide(uk(in_dispute=True), [], UK_CONC, ask(NOON, point=UK1), NOON).codes == ["dispute"]
