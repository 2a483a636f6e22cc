"""The rebuild's lean CaseOpened read (`projections.opened`) gives what the typed class
gives of the fields a new case's row takes, over generated data: the same values, or it
declines and the typed read gives them or names what is wrong."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from arrears.events import EventDataError
from arrears.events import catalogue as ev
from contact_service.projections.opened import read_opened, usual_opened
from hypothesis import given, settings
from hypothesis import strategies as st

odd = st.one_of(
    st.none(),
    st.integers(-3, 3),
    st.booleans(),
    st.sampled_from(["", "abc", "NaN", "1e3", " 5", "100000.00", "-0"]),
    st.just([]),
    st.just({}),
    st.just([{}]),
    st.just([1]),
    st.just(("a",)),
    st.just(Decimal("1.5")),
)
FIELDS = ("borrower", "guarantors", "collateral", "rules", "loan_id", "product", "currency",
          "principal", "jurisdiction")  # fmt: skip


@st.composite
def opened_data(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly the usual shape, a field in five drawn from anything or missing."""
    data: dict[str, Any] = {
        "borrower": {"id": "B-1", "timezone": "Asia/Shanghai", "phones": []},
        "guarantors": draw(st.sampled_from([[], [{"phones": []}]])),
        "collateral": draw(st.sampled_from([None, {"kind": "car"}])),
        "rules": {},
        "loan_id": "L-1",
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": str(draw(st.decimals(min_value=0, max_value=10**7, places=2))),
        "jurisdiction": draw(st.sampled_from([None, "CN", ""])),
    }
    for name in FIELDS:
        if draw(st.integers(0, 4)) == 0:
            if draw(st.booleans()):
                data[name] = draw(odd)
            else:
                del data[name]
    return data


def _view(read: Any) -> tuple[Any, ...]:
    """The fields a row takes, the principal as its digits and exponent (NaN is no equal)."""
    return (read.borrower, tuple(read.guarantors), read.loan_id, read.product,
            read.currency, str(read.principal), read.jurisdiction)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(data=opened_data())
def test_the_lean_read_gives_the_typed_values_or_declines(data: dict[str, Any]) -> None:
    try:
        typed: ev.CaseOpened | None = ev.CaseOpened.read(data)
    except EventDataError:
        typed = None
    lean = usual_opened(data)
    if lean is not None:
        assert typed is not None
        assert _view(lean) == _view(typed)
    if typed is None:
        with pytest.raises(EventDataError):
            read_opened(data)
    else:
        assert _view(read_opened(data)) == _view(typed)


def test_the_usual_shape_is_read_lean() -> None:
    data = {"borrower": {}, "guarantors": [], "collateral": None, "rules": {}, "loan_id": "L",
            "product": "p", "currency": "CNY", "principal": "10.00"}  # fmt: skip
    assert usual_opened(data) is not None
