"""The work queues take a case's bucket from its oldest unpaid due date and today's business
date, as case-service derives it (arrears.business_date), never from a stored bucket: the
due-date range of each queue holds exactly the cases `bucket_for` puts in its bucket."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from arrears.business_date import bucket_for, days_past_due
from contact_service.readmodel import derive
from contact_service.readmodel.repository.queues import BUCKET_QUEUES, due_dates

TODAY = date(2026, 12, 5)


@pytest.mark.parametrize("queue", sorted(BUCKET_QUEUES))
def test_a_bucket_queue_holds_exactly_the_due_dates_of_its_bucket(queue: str) -> None:
    earliest, latest = due_dates(queue, TODAY)
    for days in range(0, 400):
        due = TODAY - timedelta(days=days)
        in_range = earliest <= due <= latest
        assert in_range == (bucket_for(days_past_due(due, TODAY)) == BUCKET_QUEUES[queue]), days


@pytest.mark.parametrize("queue", ["all", "lost-contact", "promises-due"])
def test_the_other_queues_hold_every_case_at_least_a_day_past_due(queue: str) -> None:
    earliest, latest = due_dates(queue, TODAY)
    assert latest == TODAY - timedelta(days=1)
    assert earliest <= TODAY - timedelta(days=20_000)


def test_a_case_missed_45_days_ago_is_in_m2_today_without_any_new_event() -> None:
    due = TODAY - timedelta(days=45)
    earliest, latest = due_dates("m2", TODAY)
    assert earliest <= due <= latest
    assert derive.bucket(due, TODAY) == "M2"
    # A day past M2's end it is in M3, the same moment case-service says so.
    later = TODAY + timedelta(days=16)
    assert derive.bucket(due, later) == "M3"
    assert due_dates("m3", later)[0] <= due <= due_dates("m3", later)[1]


def test_queue_order_by_overdue_rank_is_order_by_days_past_due_on_any_day() -> None:
    older, newer = date(2026, 8, 1), date(2026, 11, 1)
    assert derive.overdue_rank(older) > derive.overdue_rank(newer) > derive.overdue_rank(None)
    for day in (date(2026, 11, 2), date(2027, 3, 1)):
        assert derive.days_past_due(older, day) > derive.days_past_due(newer, day)


def test_bucket_days_are_the_bounds_bucket_for_draws() -> None:
    from arrears.business_date import bucket_days

    assert [bucket_days(b) for b in ("M0", "M1", "M2", "M3", "M4+")] == [
        (0, 0),
        (1, 30),
        (31, 60),
        (61, 90),
        (91, None),
    ]
    with pytest.raises(ValueError, match="no bucket"):
        bucket_days("M9")
