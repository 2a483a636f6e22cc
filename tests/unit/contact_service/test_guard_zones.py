"""Every candidate zone: the hours are checked in all of them and the strictest wins, across
the date line and on DST days."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from contact_service.policy import CN, UK_CONC, US_REG_F, decide

from .helpers import N1, ask, case

AKL = "Pacific/Auckland"  # UTC+13 in November (NZDT)
HNL = "Pacific/Honolulu"  # UTC-10: 23 hours behind Auckland, across the date line
KIR = "Pacific/Kiritimati"  # UTC+14
PPG = "Pacific/Pago_Pago"  # UTC-11: 25 hours behind Kiritimati


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("utc", "allowed"),
    [
        (at(2026, 11, 2, 7, 59), True),  # Auckland 20:59 on 2 Nov, Honolulu 21:59 on 1 Nov
        (at(2026, 11, 2, 8, 0), False),  # Honolulu 22:00
        (at(2026, 11, 2, 18, 59), False),  # Auckland 07:59 on 3 Nov, Honolulu 08:59 on 2 Nov
        (at(2026, 11, 2, 19, 0), True),  # Auckland 08:00
    ],
)
def test_two_zones_either_side_of_the_date_line_both_must_be_fine(
    utc: datetime, allowed: bool
) -> None:
    view = case(AKL, candidates=(HNL,))
    assert decide(view, [], CN, ask(utc, point=N1), utc).allowed is allowed


def test_across_the_date_line_the_next_window_opens_when_both_zones_are_awake() -> None:
    view = case(AKL, candidates=(HNL,))
    decision = decide(view, [], CN, ask(at(2026, 11, 2, 8, 0), point=N1), at(2026, 11, 2, 8, 0))
    # Honolulu wakes at 18:00 UTC, Auckland only at 19:00 UTC: the strictest wins.
    assert decision.next_allowed_at == at(2026, 11, 2, 19, 0)
    assert "Pacific/Honolulu" in decision.reasons[0].message


def test_twenty_five_hours_apart_the_same_wall_clock_on_different_dates() -> None:
    view = case(KIR, candidates=(PPG,))
    # 07:59 UTC: Kiritimati 21:59 on 2 Nov, Pago Pago 20:59 on 1 Nov: fine in both (CN).
    assert decide(view, [], CN, ask(at(2026, 11, 2, 7, 59)), at(2026, 11, 2, 7, 59)).allowed
    # 08:00 UTC: Kiritimati 22:00: refused though Pago Pago is mid-evening.
    refused = decide(view, [], CN, ask(at(2026, 11, 2, 8, 0)), at(2026, 11, 2, 8, 0))
    assert refused.codes == ["outside_hours"]
    assert "Pacific/Kiritimati" in refused.reasons[0].message


@pytest.mark.parametrize(
    ("utc", "allowed"),
    [
        # 8 March 2026: New York springs forward, London does not: 08:00 EDT is 12:00 UTC.
        (at(2026, 3, 8, 11, 59), False),
        (at(2026, 3, 8, 12, 0), True),
        # The day before, 12:00 UTC is 07:00 EST in New York.
        (at(2026, 3, 7, 12, 0), False),
        # London's evening limit (21:00, exclusive) binds first.
        (at(2026, 3, 8, 20, 59), True),
        (at(2026, 3, 8, 21, 0), False),
    ],
)
def test_a_dst_day_in_one_candidate_zone_but_not_the_other(utc: datetime, allowed: bool) -> None:
    view = case("Europe/London", candidates=("America/New_York",))
    assert decide(view, [], UK_CONC, ask(utc, point=N1), utc).allowed is allowed


def test_us_two_zones_the_strictest_evening_wins() -> None:
    view = case("America/New_York", candidates=("America/Los_Angeles",))
    # 21:00 in New York is 18:00 in Los Angeles: Reg F's 21:00 is still permitted.
    assert decide(view, [], US_REG_F, ask(at(2026, 11, 3, 2, 0)), at(2026, 11, 3, 2, 0)).allowed
    refused = decide(view, [], US_REG_F, ask(at(2026, 11, 3, 2, 1)), at(2026, 11, 3, 2, 1))
    assert refused.codes == ["outside_hours"]
