"""The guard's hours: 22:00-08:00 (CN), 08:00-21:00 (US), time zones, DST, ambiguous places."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contact_service.policy import CN, US_REG_F, decide
from contact_service.policy import model as m

from .helpers import LA, NY, SH, US1, ask, case, local


def test_cn_allows_a_call_at_21_59_local() -> None:
    at = local(SH, 2026, 11, 2, 21, 59)
    assert decide(case(), [], CN, ask(at), at).allowed


def test_cn_forbids_a_call_at_22_00_local_until_08_00_next_morning() -> None:
    at = local(SH, 2026, 11, 2, 22, 0)
    decision = decide(case(), [], CN, ask(at), at)
    assert not decision.allowed
    assert decision.codes == ["outside_hours"]
    assert decision.next_allowed_at == local(SH, 2026, 11, 3, 8, 0)


def test_cn_forbids_07_59_and_allows_08_00() -> None:
    early = local(SH, 2026, 11, 3, 7, 59)
    assert decide(case(), [], CN, ask(early), early).next_allowed_at == local(SH, 2026, 11, 3, 8)
    on_time = local(SH, 2026, 11, 3, 8, 0)
    assert decide(case(), [], CN, ask(on_time), on_time).allowed


def test_hours_apply_to_texts_but_not_to_letters() -> None:
    at = local(SH, 2026, 11, 2, 23, 30)
    assert not decide(case(), [], CN, ask(at, channel="sms"), at).allowed
    assert decide(case(), [], CN, ask(at, channel="letter"), at).allowed


def test_the_borrowers_consent_lifts_the_hours() -> None:
    at = local(SH, 2026, 11, 2, 23, 30)
    agreed = case(flags=frozenset({m.FLAG_QUIET_HOURS_CONSENT}))
    assert decide(agreed, [], CN, ask(at), at).allowed


def test_hours_are_the_borrowers_local_time_not_the_collectors() -> None:
    # 14:00 UTC is 22:00 in Shanghai and 09:00 in New York.
    at = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    assert not decide(case(SH), [], CN, ask(at), at).allowed
    assert decide(case(NY), [], US_REG_F, ask(at, point=US1), at).allowed


def test_us_allows_21_00_exactly_and_forbids_a_minute_later() -> None:
    at = local(NY, 2026, 11, 2, 21, 0)
    assert decide(case(NY), [], US_REG_F, ask(at, point=US1), at).allowed
    later = local(NY, 2026, 11, 2, 21, 1)
    decision = decide(case(NY), [], US_REG_F, ask(later, point=US1), later)
    assert decision.codes == ["outside_hours"]
    assert decision.next_allowed_at == local(NY, 2026, 11, 3, 8, 0)


def test_us_forbids_07_59() -> None:
    at = local(NY, 2026, 11, 2, 7, 59)
    assert not decide(case(NY), [], US_REG_F, ask(at, point=US1), at).allowed


@pytest.mark.parametrize(
    ("utc_hour", "allowed"),
    [(11, False), (12, True)],  # 2026-03-08: 07:00 EDT vs 08:00 EDT (was 07:00 EST the day before)
)
def test_spring_forward_day_in_new_york(utc_hour: int, allowed: bool) -> None:
    at = datetime(2026, 3, 8, utc_hour, 30, tzinfo=UTC)
    assert decide(case(NY), [], US_REG_F, ask(at, point=US1), at).allowed is allowed


def test_the_same_utc_time_is_too_early_the_day_before_spring_forward() -> None:
    at = datetime(2026, 3, 7, 12, 30, tzinfo=UTC)  # 07:30 EST
    decision = decide(case(NY), [], US_REG_F, ask(at, point=US1), at)
    assert decision.next_allowed_at == datetime(2026, 3, 7, 13, 0, tzinfo=UTC)


def test_next_morning_across_spring_forward_is_08_00_edt() -> None:
    at = local(NY, 2026, 3, 7, 22, 0)  # Saturday 22:00 EST
    decision = decide(case(NY), [], US_REG_F, ask(at, point=US1), at)
    assert decision.next_allowed_at == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT


def test_fall_back_day_in_new_york() -> None:
    # 2026-11-01: 08:00 EST is 13:00 UTC; at 12:30 UTC it is 07:30 EST, too early.
    early = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    decision = decide(case(NY), [], US_REG_F, ask(early, point=US1), early)
    assert decision.next_allowed_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    # 21:00 EST is 02:00 UTC the next day: the last permitted minute.
    assert decide(
        case(NY), [], US_REG_F, ask(datetime(2026, 11, 2, 2, 0, tzinfo=UTC), point=US1), early
    ).allowed
    assert not decide(
        case(NY), [], US_REG_F, ask(datetime(2026, 11, 2, 2, 1, tzinfo=UTC), point=US1), early
    ).allowed


def test_an_ambiguous_location_needs_every_candidate_zone_to_be_fine() -> None:
    # 08:30 in New York is 05:30 in Los Angeles.
    at = local(NY, 2026, 11, 2, 8, 30)
    ambiguous = case(NY, candidates=(LA,))
    decision = decide(ambiguous, [], US_REG_F, ask(at, point=US1), at)
    assert decision.codes == ["outside_hours"]
    assert LA in decision.reasons[0].message
    assert decision.next_allowed_at == local(LA, 2026, 11, 2, 8, 0)  # 11:00 in New York
    assert decide(ambiguous, [], US_REG_F, ask(decision.next_allowed_at), at).allowed


def test_an_ambiguous_location_is_fine_when_every_zone_is_fine() -> None:
    at = local(NY, 2026, 11, 2, 12, 0)
    assert decide(case(NY, candidates=(LA,)), [], US_REG_F, ask(at, point=US1), at).allowed


def test_the_evening_limit_is_that_of_the_zone_furthest_east() -> None:
    at = local(LA, 2026, 11, 2, 18, 30)  # 21:30 in New York
    decision = decide(case(LA, candidates=(NY,)), [], US_REG_F, ask(at, point=US1), at)
    assert not decision.allowed
    assert decision.next_allowed_at == local(LA, 2026, 11, 3, 8, 0)


def test_zones_without_a_common_window_never_clear() -> None:
    # 08:00-21:00 in UTC-10, UTC-2 and UTC+6 share no instant (any two 13-hour windows do).
    at = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    far = case("Pacific/Honolulu", candidates=("Atlantic/South_Georgia", "Asia/Dhaka"))
    decision = decide(far, [], US_REG_F, ask(at, point=US1), at)
    assert not decision.allowed
    assert decision.next_allowed_at is None


def test_the_request_time_defaults_to_now() -> None:
    now = local(SH, 2026, 11, 2, 23, 0)
    request = m.ContactRequest("borrower", "call", "+8613800000001", None)
    assert not decide(case(), [], CN, request, now).allowed
