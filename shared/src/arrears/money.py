"""Money on the wire (pure functions: the domain uses them too; arrears.input wraps them): a decimal string in one grammar, in a real ISO 4217 currency.

`^-?[0-9]{1,15}(\\.[0-9]{1,E})?$`, no trimming, no exponent, no digit other than ASCII 0-9,
where E is the currency's ISO 4217 minor unit (2 for CNY, 0 for JPY, 3 for KWD), taken from
the `iso4217` package (the ISO 4217 list), never a hand table. A negative amount only where
the field allows it. Codes without a minor unit (XXX, XAU, XDR) are not money.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from iso4217 import Currency as _Iso4217

MAX_INTEGER_DIGITS = 15
# The widest minor unit in ISO 4217 (CLF, UYW): the grammar when the currency is not known yet.
MAX_EXPONENT = 4
_CODE = re.compile(r"[A-Z]{3}")


@cache
def currency_exponent(code: str) -> int:
    """The ISO 4217 minor unit of `code`; ValueError for anything that is not a currency."""
    if not _CODE.fullmatch(code):
        raise ValueError("must be an ISO 4217 currency code such as CNY")
    try:
        exponent = _Iso4217(code).exponent
    except ValueError:
        raise ValueError(f"{code} is not an ISO 4217 currency code") from None
    if exponent is None:
        raise ValueError(f"{code} is not a currency with a minor unit (ISO 4217)")
    return int(exponent)


def check_currency(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be an ISO 4217 currency code such as CNY")
    currency_exponent(value)
    return value


@cache
def _grammar(exponent: int, negative: bool) -> re.Pattern[str]:
    sign = "-?" if negative else ""
    fraction = rf"(\.[0-9]{{1,{exponent}}})?" if exponent else ""
    return re.compile(rf"{sign}[0-9]{{1,{MAX_INTEGER_DIGITS}}}{fraction}")


def parse_amount(
    value: object,
    currency: str | None = None,
    *,
    negative: bool = False,
    zero: bool = False,
) -> Decimal:
    """A money string as a Decimal. With `currency`, at most its minor unit of decimals;
    without, at most MAX_EXPONENT (the caller checks again once the currency is known)."""
    if not isinstance(value, str):
        raise ValueError('money must be a decimal string such as "1200.00"')
    exponent = MAX_EXPONENT if currency is None else currency_exponent(currency)
    if not _grammar(exponent, negative).fullmatch(value):
        if currency is not None and _grammar(MAX_EXPONENT, negative).fullmatch(value):
            raise ValueError(f"{currency} has at most {exponent} decimal places")
        what = "a decimal string" if negative else "a non-negative decimal string"
        raise ValueError(f'must be {what} such as "1200.00" (digits, one point, no spaces)')
    amount = Decimal(value)
    if amount == 0 and not zero:
        raise ValueError("must not be zero")
    if amount.is_signed() and amount == 0:
        raise ValueError('a zero amount has no sign: send "0.00"')
    return amount
