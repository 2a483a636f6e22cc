"""The rebuild's lean PaymentMissed (`projections.missed.LeanMissed`) changes a case row
exactly as the typed handler does, over generated data and histories: the same row, or it
declines with the row untouched and the typed handler gives the answer or the error."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from arrears.messaging import case_event
from contact_service.projections import HANDLERS
from contact_service.projections.missed import LeanMissed
from contact_service.projections.store import day_of
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

CASE = "00000000-0000-0000-0000-000000000001"
START = datetime(2025, 1, 1, tzinfo=UTC)
NO_DATABASE = cast(AsyncConnection, None)  # PaymentMissed's handler writes nothing itself

amounts = st.one_of(
    st.decimals(min_value=-100, max_value=10**6, places=2, allow_nan=False).map(str),
    st.sampled_from(["1200.00", "0", "0.001", "1e3", "NaN", "Infinity", "-0", "abc", "", " 5"]),
    st.integers(-5, 5),
    st.none(),
)
due_dates = st.one_of(
    st.dates(date(2024, 6, 1), date(2025, 6, 1)).map(date.isoformat),
    st.sampled_from(["20250110", "2025-02-30", "tomorrow", ""]),
    st.integers(0, 3),
)
numbers = st.one_of(st.integers(0, 12), st.booleans(), st.sampled_from(["3", None]))
currencies = st.one_of(st.just("CNY"), st.none(), st.integers(0, 1))
moments = st.integers(0, 200 * 24).map(lambda hours: START + timedelta(hours=hours))


@st.composite
def missed_data(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly the usual shape (the lean read's), one field in five drawn from anything."""
    data = {
        "amount": str(draw(st.decimals(min_value=0, max_value=10**5, places=2))),
        "due_date": draw(st.dates(date(2024, 6, 1), date(2025, 6, 1))).isoformat(),
        "installment": draw(st.integers(0, 12)),
        "currency": "CNY",
    }
    for name, odd in (
        ("amount", amounts),
        ("due_date", due_dates),
        ("installment", numbers),
        ("currency", currencies),
    ):
        if draw(st.integers(0, 19)) == 0:
            data[name] = draw(odd)
    if draw(st.integers(0, 19)) == 0:
        del data[draw(st.sampled_from(sorted(data)))]  # a field missing now and then
    return data


@st.composite
def installments(draw: st.DrawFn) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(["1", "2", "5", "P1-1", "P1-2"]), unique=True)):
        amount = draw(st.decimals(min_value=0, max_value=5000, places=2, allow_nan=False))
        found[key] = {
            "due_date": draw(st.dates(date(2024, 6, 1), date(2025, 6, 1))).isoformat(),
            "amount": str(amount),
            "paid": str(draw(st.sampled_from([0, amount, amount / 2]))),
            "superseded": draw(st.booleans()),
        }
    return found


def _row(held: dict[str, Any]) -> dict[str, Any]:
    return {"case_id": CASE, "installments": held, "arrears": None, "oldest_due_on": None}


def _typed(row: dict[str, Any], data: dict[str, Any], at: datetime) -> Exception | None:
    envelope = case_event(
        case_id=CASE, version=2, sequence=2, event_name="PaymentMissed", occurred_at=at, data=data
    )
    try:
        asyncio.run(HANDLERS["PaymentMissed"](NO_DATABASE, envelope, row))
    except Exception as exc:  # the typed answer: an error is one too
        return exc
    return None


def _day(at: datetime) -> date:
    envelope = case_event(
        case_id=CASE, version=2, sequence=2, event_name="PaymentMissed", occurred_at=at, data={}
    )
    return day_of(envelope)


@settings(max_examples=300, deadline=None)
@given(held=installments(), data=missed_data(), at=moments)
def test_one_event_reads_as_the_typed_handler_reads_it(
    held: dict[str, Any], data: dict[str, Any], at: datetime
) -> None:
    lean_row, typed_row = _row(copy.deepcopy(held)), _row(copy.deepcopy(held))
    untouched = copy.deepcopy(lean_row)
    applied = LeanMissed().apply(data, lean_row, _day(at))
    failed = _typed(typed_row, data, at)
    if applied:
        assert failed is None
        assert lean_row == typed_row
    else:
        assert lean_row == untouched  # and the typed handler gives the answer or the error


@settings(max_examples=300, deadline=None)
@given(
    held=installments(),
    history=st.lists(st.tuples(missed_data(), st.integers(0, 3)), min_size=1, max_size=12),
    way=st.sampled_from(["copy", "own", "grow"]),
)
def test_a_case_history_carries_its_arrears_as_the_typed_handler_sums_them(
    held: dict[str, Any], history: list[tuple[dict[str, Any], int]], way: str
) -> None:
    """The running tally over many events, days moving on and now and then an event the
    lean read declines (the typed handler applied in its place, as the fold does). `own`:
    the row changed in place, its installments grown in place once the lean read made them,
    as the page fold does with a case it opened; `grow`: the same, the arrears and days past
    due set by `settle` (the fold settles before anything reads the row)."""
    lean = LeanMissed()
    lean_row, typed_row = _row(copy.deepcopy(held)), _row(copy.deepcopy(held))
    first = lean_row["installments"]
    at = START
    for data, days_on in history:
        at += timedelta(days=days_on)
        before = copy.deepcopy(lean_row)
        mapping = lean_row["installments"]
        made_here = CASE in lean.tallies and lean.tallies[CASE].installments is mapping
        if way == "grow":
            applied = lean.grow(data, lean_row, _day(at))
        else:
            applied = lean.apply(data, lean_row, _day(at), own=way == "own")
        if not applied:
            assert lean_row == before
            _typed(lean_row, data, at)
        elif way != "copy" and made_here:
            assert lean_row["installments"] is mapping  # grown in place, not copied
        if way == "grow":
            lean.settle(lean_row)
        _typed(typed_row, data, at)
        assert lean_row == typed_row
    assert first == held  # the mapping the case came with is never changed
