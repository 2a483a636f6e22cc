"""Money as pydantic field types (the grammar itself is arrears.money)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

from arrears.money import (
    MAX_EXPONENT,
    MAX_INTEGER_DIGITS,
    check_currency,
    currency_exponent,
    parse_amount,
)

__all__ = [
    "Currency",
    "Money",
    "MoneyOrZero",
    "SignedMoney",
    "check_currency",
    "currency_exponent",
    "parse_amount",
]


def _money(value: Any) -> Decimal:
    return parse_amount(value)


def _money_or_zero(value: Any) -> Decimal:
    return parse_amount(value, zero=True)


def _signed(value: Any) -> Decimal:
    return parse_amount(value, negative=True, zero=True)


def _schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description, "examples": ["1200.00"]}
    )


_POSITIVE = rf"^[0-9]{{1,{MAX_INTEGER_DIGITS}}}(\.[0-9]{{1,{MAX_EXPONENT}}})?$"
Money = Annotated[
    Decimal,
    BeforeValidator(_money),
    _schema(_POSITIVE, "a positive amount in the case's currency, at most its minor unit"),
]
MoneyOrZero = Annotated[
    Decimal,
    BeforeValidator(_money_or_zero),
    _schema(_POSITIVE, "an amount, zero allowed, in the case's currency"),
]
SignedMoney = Annotated[
    Decimal,
    BeforeValidator(_signed),
    _schema("^-?" + _POSITIVE[1:], "an amount that may be negative (an adjustment)"),
]
Currency = Annotated[
    str,
    BeforeValidator(check_currency),
    WithJsonSchema({"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["CNY"]}),
]
