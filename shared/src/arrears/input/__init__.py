"""One strict type for each kind of input every service takes: money, times, dates, texts,
identifiers, time zones and bounded integers. The grammars are documented in
docs/input-grammar.md; each parse function raises ValueError with a message that names what
is wrong, and the pydantic aliases turn that into a 422 naming the field."""

from arrears.input.money import (
    Currency,
    Money,
    MoneyOrZero,
    SignedMoney,
    check_currency,
    currency_exponent,
    parse_amount,
)
from arrears.input.numbers import Count, PageLimit, PageOffset, Position, Version
from arrears.input.text import Identifier, Note, Text, check_text
from arrears.input.times import (
    BusinessDate,
    Instant,
    TimeWindow,
    ZoneName,
    parse_date,
    parse_instant,
)
from arrears.zones import check_zone

__all__ = [
    "BusinessDate",
    "Count",
    "Currency",
    "Identifier",
    "Instant",
    "Money",
    "MoneyOrZero",
    "Note",
    "PageLimit",
    "PageOffset",
    "Position",
    "SignedMoney",
    "Text",
    "TimeWindow",
    "Version",
    "ZoneName",
    "check_currency",
    "check_text",
    "check_zone",
    "currency_exponent",
    "parse_amount",
    "parse_date",
    "parse_instant",
]
