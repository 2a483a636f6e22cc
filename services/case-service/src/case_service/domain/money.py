"""Money: Decimal amounts in a currency, never floats."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from .errors import InvalidCommand

_CURRENCY = re.compile(r"^[A-Z]{3}$")
# ISO 4217 minor units where they are not 2.
_MINOR_UNITS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}  # fmt: skip
ZERO = Decimal("0.00")


def check_currency(currency: object) -> str:
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidCommand("currency must be an ISO 4217 code such as CNY", field="currency")
    return currency


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency, 2)


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


def check_money(
    value: object,
    *,
    currency: str,
    field: str,
    maximum: Decimal,
    allow_zero: bool = False,
) -> Decimal:
    """Validate an amount: a finite Decimal (or int / decimal string), positive (or zero
    where allowed), with no more places than the currency's minor unit, not above maximum.
    Returns it quantized to the currency's minor unit."""
    if isinstance(value, bool | float):
        raise InvalidCommand("money must be a Decimal, never a float", field=field)
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidCommand("not a decimal number", field=field) from None
    if not isinstance(value, Decimal):
        raise InvalidCommand("money must be a Decimal", field=field)
    if not value.is_finite():
        raise InvalidCommand("must be a finite number", field=field)
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidCommand(
            "must not be negative" if allow_zero else "must be greater than 0", field=field
        )
    if value > maximum:
        raise InvalidCommand("is implausibly large", field=field)
    quantized = quantize(value, currency)
    if quantized != value:
        places = minor_units(currency)
        raise InvalidCommand(f"must have at most {places} decimal places", field=field)
    return quantized
