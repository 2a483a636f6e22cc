"""Money: Decimal amounts in a currency, never floats."""

from __future__ import annotations

from decimal import Decimal

from arrears import money

from .errors import InvalidCommand

ZERO = Decimal("0.00")


def check_currency(currency: object) -> str:
    """A real ISO 4217 currency with a minor unit (arrears.money holds the list)."""
    try:
        return money.check_currency(currency)
    except ValueError as exc:
        raise InvalidCommand(str(exc), field="currency") from None


def minor_units(currency: str) -> int:
    return money.currency_exponent(currency)


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
            value = money.parse_amount(value, currency, zero=True)
        except ValueError as exc:
            raise InvalidCommand(str(exc), field=field) from None
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
    places = minor_units(currency)
    exponent = value.as_tuple().exponent
    # 10.000 equals 10.00, but a third decimal in CNY is a sender's error, not a rounding.
    if isinstance(exponent, int) and -exponent > places:
        raise InvalidCommand(f"{currency} has at most {places} decimal places", field=field)
    return quantize(value, currency)
