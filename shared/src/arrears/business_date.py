"""The bank's business date and the delinquency bucket: defined once, used by every service.

Days past due count business days of the bank's calendar, in its zone (`BUSINESS_TIMEZONE`,
a setting of every service; default Asia/Shanghai for the CN portfolio): at 20:00 UTC it is
already tomorrow in Shanghai, and every service must say the same number then. The borrower's
own zone decides only when a person may be contacted, never how late a loan is.

Buckets follow days past due (DESIGN §2): M0 current, M1 1-30, M2 31-60, M3 61-90, M4+
over 90. Every read model derives the bucket from days past due at read time, as case-service
does, rather than waiting for the nightly DelinquencyBucketChanged. (Pure: the domain uses it.)
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

DEFAULT_BUSINESS_TIMEZONE = "Asia/Shanghai"
BUCKET_BOUNDS: tuple[tuple[str, int], ...] = (("M0", 0), ("M1", 30), ("M2", 60), ("M3", 90))
LAST_BUCKET = "M4+"


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def business_date(moment: datetime, zone: str = DEFAULT_BUSINESS_TIMEZONE) -> date:
    """The bank's business date at `moment` (timezone-aware) in its calendar's `zone`."""
    if moment.tzinfo is None:
        raise ValueError("a business date needs a timezone-aware moment")
    return _business_date(moment, zone)


@lru_cache(maxsize=4096)  # a command asks several times for the same moment (a file: one)
def _business_date(moment: datetime, zone: str) -> date:
    return moment.astimezone(_zone(zone)).date()


def days_past_due(oldest_due_on: date | None, day: date) -> int:
    """Days from the oldest unpaid installment's due date to the business `day`; 0 if none."""
    if oldest_due_on is None:
        return 0
    return max(0, (day - oldest_due_on).days)


def bucket_for(
    days: int,
    bounds: tuple[tuple[str, int], ...] = BUCKET_BOUNDS,
    last: str = LAST_BUCKET,
) -> str:
    """The bucket of `days` past due: the first whose upper bound it does not exceed."""
    for name, upper in bounds:
        if days <= upper:
            return name
    return last


def bucket_days(
    bucket: str,
    bounds: tuple[tuple[str, int], ...] = BUCKET_BOUNDS,
    last: str = LAST_BUCKET,
) -> tuple[int, int | None]:
    """The days past due of `bucket`, inclusive (None: no upper end), as `bucket_for` draws
    them: M1 -> (1, 30), M4+ -> (91, None). A read model filters a bucket as a range of due
    dates with it (today - highest .. today - lowest), so it agrees with `bucket_for` at
    every moment."""
    lowest = 0
    for name, upper in bounds:
        if name == bucket:
            return lowest, upper
        lowest = upper + 1
    if bucket == last:
        return lowest, None
    raise ValueError(f"no bucket {bucket!r}")
