"""Times, dates and time zones on the wire.

- An instant is an RFC 3339 string with an offset (`2026-10-01T09:30:00+08:00`, `...Z`), never
  a number; at most nine fractional digits (kept to the microsecond); stored in UTC.
- A business date is `YYYY-MM-DD`, never a number.
- Both lie between SANE_FROM and SANE_UNTIL whatever the field: outside, they are typos (or
  attacks on date arithmetic). Each field's business window (not before the loan's start or ten
  years ago, not after now plus a little clock skew) is `TimeWindow`, checked where "now" is
  known (the service's injectable clock).
- A time zone is an IANA region zone (`Asia/Shanghai`, `America/Los_Angeles`): not `localtime`,
  not `UTC`, not `Etc/GMT+8`, not a legacy alias such as `PRC`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from arrears.zones import check_zone

SANE_FROM = date(1970, 1, 1)
SANE_UNTIL = date(2200, 1, 1)
_INSTANT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_instant(value: object) -> datetime:
    """An RFC 3339 date-time with an offset, in UTC."""
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string such as 2026-10-01T09:30:00+08:00")
    match = _INSTANT.fullmatch(value)
    if not match:
        raise ValueError(
            "must be an RFC 3339 date-time with an offset, such as 2026-10-01T09:30:00+08:00"
        )
    fraction = match.group(7) or ""
    text = value[: match.start(7)] + fraction[:7] + value[match.end(7) :] if fraction else value
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("is not a valid date-time") from None
    if not SANE_FROM <= utc.date() < SANE_UNTIL:
        raise ValueError(f"must lie between {SANE_FROM} and {SANE_UNTIL}")
    return utc


def parse_date(value: object) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("must be a date string YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a valid date") from None
    if not SANE_FROM <= day < SANE_UNTIL:
        raise ValueError(f"must lie between {SANE_FROM} and {SANE_UNTIL}")
    return day


@dataclass(frozen=True)
class TimeWindow:
    """When a business time may lie, relative to the service's clock: not more than `past`
    ago (nor before `earliest`, e.g. the loan's start), not after now plus `skew`."""

    past: timedelta = timedelta(days=3653)  # ten years, leap days included
    skew: timedelta = timedelta(minutes=5)

    def check_instant(
        self, moment: datetime, now: datetime, earliest: datetime | None = None
    ) -> None:
        if moment > now + self.skew:
            raise ValueError("must not be in the future")
        floor = now - self.past
        if earliest is not None and earliest > floor:
            floor = earliest
        if moment < floor:
            raise ValueError(f"must not be before {floor.date().isoformat()}")

    def check_date(self, day: date, today: date, *, future: timedelta | None = None) -> None:
        """A business date: not before the window; after today only within `future`."""
        if day < today - self.past:
            raise ValueError(f"must not be before {(today - self.past).isoformat()}")
        if future is not None and day > today + future:
            raise ValueError(f"must not be after {(today + future).isoformat()}")


def _instant(value: Any) -> datetime:
    return parse_instant(value)


def _date(value: Any) -> date:
    return parse_date(value)


Instant = Annotated[
    datetime,
    BeforeValidator(_instant),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 date-time with an offset; stored in UTC",
            "examples": ["2026-10-01T09:30:00+08:00"],
        }
    ),
]
BusinessDate = Annotated[
    date,
    BeforeValidator(_date),
    WithJsonSchema({"type": "string", "format": "date", "examples": ["2026-10-01"]}),
]
ZoneName = Annotated[
    str,
    BeforeValidator(check_zone),
    WithJsonSchema(
        {"type": "string", "description": "an IANA region time zone", "examples": ["Asia/Shanghai"]}
    ),
]
