"""Small validators shared by the commands. Each raises InvalidCommand naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidCommand

MAX_TEXT = 500
MAX_NOTE = 4000
# A business time may be reported a little ahead of the service's clock (clock skew).
CLOCK_SKEW = timedelta(minutes=5)


def text(value: object, field: str, *, max_length: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidCommand("must be a non-empty string", field=field)
    if len(value) > max_length:
        raise InvalidCommand(f"must be at most {max_length} characters", field=field)
    return value.strip()


def optional_text(value: object, field: str, *, max_length: int = MAX_TEXT) -> str | None:
    if value is None:
        return None
    return text(value, field, max_length=max_length)


def choice(value: object, allowed: Iterable[str], field: str) -> str:
    options = tuple(allowed)
    if not isinstance(value, str) or value not in options:
        raise InvalidCommand(f"must be one of {', '.join(options)}", field=field)
    return value


def now_utc(now: object) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        raise InvalidCommand("now must be a timezone-aware datetime", field="now")
    return now.astimezone(UTC)


def instant(value: object, field: str, *, now: datetime) -> datetime:
    """A business time: timezone-aware, not in the future (beyond clock skew); stored UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidCommand("must be a timezone-aware date-time", field=field)
    moment = value.astimezone(UTC)
    if moment > now + CLOCK_SKEW:
        raise InvalidCommand("must not be in the future", field=field)
    return moment


def day(value: object, field: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidCommand("must be a date", field=field)
    return value


# IANA region zones only: not `localtime` (the server's zone), `UTC`, `Etc/GMT+8` or `PRC`.
_REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)


def timezone(value: object, field: str) -> str:
    name = text(value, field, max_length=100)
    try:
        if not name.startswith(_REGIONS) or name != value:
            raise ValueError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidCommand(
            "must be an IANA time zone such as Asia/Shanghai", field=field
        ) from None
    return name


def json_value(value: Any, field: str, depth: int = 0) -> Any:
    """A deep copy of a JSON-like value (str keys; str/int/bool/None/Decimal/date leaves)."""
    if depth > 10:
        raise InvalidCommand("is nested too deeply", field=field)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise InvalidCommand("keys must be strings", field=field)
        return {k: json_value(v, field, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v, field, depth + 1) for v in value]
    if isinstance(value, float):
        raise InvalidCommand("numbers must be decimals, never floats", field=field)
    if value is None or isinstance(value, str | int | bool | date):
        return value
    if isinstance(value, Decimal | UUID):
        return value
    raise InvalidCommand(f"holds an unsupported value of type {type(value).__name__}", field=field)
