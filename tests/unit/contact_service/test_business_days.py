"""`BusinessDays.of` (the projection's business date of each event) gives what
`arrears.business_date` gives, moment by moment, in zones with and without changes of
clocks, in the order a feed brings them and out of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from arrears.business_date import business_date
from contact_service.projections.days import BusinessDays
from hypothesis import given
from hypothesis import strategies as st

ZONES = ["Asia/Shanghai", "Europe/London", "America/Sao_Paulo", "Australia/Lord_Howe", "UTC"]
START = datetime(2025, 1, 1, tzinfo=UTC)


@given(
    zone=st.sampled_from(ZONES),
    steps=st.lists(st.integers(min_value=-86_400 * 3, max_value=86_400 * 400), max_size=60),
)
def test_each_moment_has_the_business_date_its_zone_gives(zone: str, steps: list[int]) -> None:
    days = BusinessDays(zone)
    for seconds in steps:
        moment = START + timedelta(seconds=seconds, microseconds=seconds % 997)
        assert days.of(moment) == business_date(moment, zone)
        assert days.of(moment) == business_date(moment, zone)  # the second from the bounds


def test_the_moments_around_a_change_of_clocks_at_midnight() -> None:
    # Sao Paulo's clocks moved forward at midnight (2018-11-04 00:00 -> 01:00).
    zone = "America/Sao_Paulo"
    days = BusinessDays(zone)
    change = datetime(2018, 11, 4, 0, 0, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    for minutes in range(-90, 90, 7):
        moment = change + timedelta(minutes=minutes)
        assert days.of(moment) == business_date(moment, zone)


def test_a_moment_in_another_zone_is_converted() -> None:
    days = BusinessDays("Asia/Shanghai")
    moment = datetime(2026, 11, 2, 23, 30, tzinfo=ZoneInfo("Europe/London"))
    days.of(moment.astimezone(UTC))
    assert days.of(moment) == business_date(moment, "Asia/Shanghai")
