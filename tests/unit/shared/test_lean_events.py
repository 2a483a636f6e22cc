"""The lean reads of `arrears.events.lean` against the typed classes: whatever a lean read
accepts, the typed read gives the same values or names what is wrong (a lean read's caller
parses the strings itself and falls back to the typed read when that fails); what it
declines, it declines for a field not of the JSON type case-service writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arrears.events.catalogue import PaymentMissed
from arrears.events.lean import usual_missed
from arrears.events.types import EventDataError
from hypothesis import given
from hypothesis import strategies as st

_ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 13),
    st.floats(allow_nan=False),
    st.decimals(places=2, allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["1200.00", "2025-01-10", "NaN", "1e3", "2025-02-30", "CNY"]),
)
FIELDS = ("amount", "due_date", "installment", "currency")


@st.composite
def missed_data(draw: st.DrawFn) -> dict[str, Any]:
    """The usual shape, with any field now and then of anything, or missing."""
    data: dict[str, Any] = {
        "amount": str(draw(st.decimals(min_value=0, max_value=10**5, places=2))),
        "due_date": draw(st.dates()).isoformat(),
        "installment": draw(st.integers(0, 12)),
        "currency": "CNY",
    }
    for name in FIELDS:
        if draw(st.integers(0, 3)) == 0:
            data[name] = draw(_ANY)
        if draw(st.integers(0, 19)) == 0:
            del data[name]
    return data


@given(missed_data())
def test_usual_missed_reads_what_the_typed_read_reads(data: dict[str, Any]) -> None:
    usual = usual_missed(data)
    if usual is None:
        assert any(
            type(data.get(name)) is not kind
            for name, kind in zip(FIELDS, (str, str, int, str), strict=True)
        )
        return
    amount, due, number = usual
    assert (amount, due, number) == (data["amount"], data["due_date"], data["installment"])
    try:
        typed = PaymentMissed.read(data)
    except EventDataError:
        return  # a string the caller's own parse refuses too (below)
    assert typed.amount.compare_total(Decimal(amount)) == 0  # the same digits, NaN too
    assert typed.due_date == date.fromisoformat(due)
    assert typed.installment == number
    assert typed.currency == data["currency"]


def test_usual_missed_declines_what_json_would_not_hold_as_written() -> None:
    usual = {"amount": "12.50", "due_date": "2025-01-10", "installment": 3, "currency": "CNY"}
    assert usual_missed(usual) == ("12.50", "2025-01-10", 3)
    for name, odd in (
        ("amount", Decimal("12.50")),  # the typed read takes it; the lean read leaves it
        ("amount", 12),
        ("due_date", date(2025, 1, 10)),
        ("installment", True),  # an int to isinstance, not to the schema
        ("installment", "3"),
        ("currency", None),
    ):
        assert usual_missed({**usual, name: odd}) is None
    assert usual_missed({k: v for k, v in usual.items() if k != "currency"}) is None
