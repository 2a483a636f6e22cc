"""Small validators shared by the commands. Each raises InvalidCommand naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from arrears.zones import check_zone

from .errors import InvalidCommand

MAX_TEXT = 500
MAX_NOTE = 4000
# A business time may be reported a little ahead of the service's clock (clock skew), and
# no further back than records are kept for (ten years): older is a typo, never a fact.
CLOCK_SKEW = timedelta(minutes=5)
MAX_PAST = timedelta(days=3653)
# A payment plan's last installment: thirty years of monthly installments and some.
MAX_PLAN_FUTURE = timedelta(days=366 * 40)


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
    if moment < now - MAX_PAST:
        oldest = (now - MAX_PAST).date().isoformat()
        raise InvalidCommand(f"must not be before {oldest} (ten years ago)", field=field)
    return moment


def day(
    value: object, field: str, *, today: date | None = None, future: timedelta | None = None
) -> date:
    """A business date; with `today`, not more than MAX_PAST before it and, where `future`
    is given, not more than that after it."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidCommand("must be a date", field=field)
    if today is not None:
        if value < today - MAX_PAST:
            oldest = (today - MAX_PAST).isoformat()
            raise InvalidCommand(f"must not be before {oldest} (ten years ago)", field=field)
        if future is not None and value > today + future:
            latest = (today + future).isoformat()
            raise InvalidCommand(f"must not be after {latest}", field=field)
    return value


def timezone(value: object, field: str) -> str:
    """An IANA region zone (not `localtime`, `UTC` or a legacy alias)."""
    try:
        return check_zone(value)
    except ValueError as exc:
        raise InvalidCommand(str(exc), field=field) from None


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
