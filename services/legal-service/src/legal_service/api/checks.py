"""Checks every legal-service command makes against the case and the clock, after the body
passed arrears.input's grammar: the case's currency and its minor unit, the business time
window (arrears.input.TimeWindow), and a well-formed Idempotency-Key."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arrears.errors import Problem
from arrears.input import TimeWindow, check_text, currency_exponent
from pydantic import BaseModel

from legal_service.context import Context

WINDOW = TimeWindow()
MAX_KEY_LENGTH = 255
# legal-service's tables keep money to 2 decimals (readmodel.tables.MONEY): an amount with
# more (KWD's third) is refused rather than silently rounded.
STORED_DECIMALS = 2


def _refused(field: str, message: str) -> Problem:
    return Problem(422, "Unprocessable Content", f"{field}: {message}", field=field)


def money_fits_case(state: dict[str, Any], body: BaseModel) -> None:
    """A `currency` sent must be the case's; every amount has at most the case's currency's
    minor unit of decimals (2 for CNY, 0 for JPY, 3 for KWD)."""
    case_currency = str(state["currency"])
    currency = getattr(body, "currency", None)
    if currency is not None and currency != case_currency:
        raise Problem(
            422,
            "Unprocessable Content",
            f"the case is in {case_currency}, not {currency}",
            field="currency",
        )
    exponent = currency_exponent(case_currency)
    for name in type(body).model_fields:
        amount = getattr(body, name)
        if isinstance(amount, Decimal):
            places = amount.as_tuple().exponent
            if isinstance(places, int) and -places > exponent:
                raise _refused(name, f"{case_currency} has at most {exponent} decimal places")
            if isinstance(places, int) and -places > STORED_DECIMALS:
                raise _refused(name, f"legal-service keeps at most {STORED_DECIMALS} decimals")


def instant_in_window(ctx: Context, moment: datetime, field: str) -> None:
    """Not after now (plus a little clock skew), not more than ten years ago."""
    try:
        WINDOW.check_instant(moment, ctx.clock.now())
    except ValueError as exc:
        raise _refused(field, str(exc)) from None


def day_in_window(ctx: Context, day: date, field: str) -> None:
    """A business date of something that happened: not after today (the bank's business
    date), not ten years ago."""
    try:
        WINDOW.check_date(day, ctx.today(), future=timedelta(0))
    except ValueError as exc:
        raise _refused(field, str(exc)) from None


def required_key(key: str | None) -> str:
    """The Idempotency-Key: required, one line of text (it is stored and forwarded)."""
    if key is None or not key.strip():
        raise Problem(
            422,
            "Unprocessable Content",
            "an Idempotency-Key header is required: it is forwarded to case-service",
            field="Idempotency-Key",
        )
    try:
        return check_text(key.strip(), max_length=MAX_KEY_LENGTH)
    except ValueError as exc:
        raise _refused("Idempotency-Key", str(exc)) from None
