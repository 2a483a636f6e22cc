"""The daily file's body read lean (api/routes/batch_body.py) against the route's model: on
generated bodies, valid and not, whatever the lean reading takes the model takes too, with
the same values (types and decimal places included); whatever the model refuses, the lean
reading leaves to it; and the usual valid file is taken lean."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from case_service.api.routes.batch_body import lean_body, lean_items
from case_service.api.schemas import MissedPaymentBatch
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

FIELDS = ("loan_id", "case_id", "installment", "due_date", "amount", "currency")

texts = st.one_of(
    st.sampled_from(["", " ", "L-1", "L 1", "-L", "L\u202e1", "L\x00", "x" * 100, "x" * 101]),
    st.text(max_size=12),
)
values: dict[str, st.SearchStrategy[Any]] = {
    "loan_id": st.one_of(st.none(), st.sampled_from(["LOAN-1", "a.b:c/d@e+f#g-h"]), texts, st.integers()),
    "case_id": st.one_of(
        st.none(),
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.uuids().map(lambda u: "{" + str(u) + "}"),
        st.uuids().map(lambda u: "urn:uuid:" + str(u)),
        texts,
    ),
    "installment": st.one_of(
        st.integers(-2, 1002), st.booleans(), st.floats(0, 5), st.sampled_from(["1", None])
    ),
    "due_date": st.one_of(
        st.dates().map(str),
        st.sampled_from(["2026-02-30", "2026-2-1", "1969-12-31", "2200-01-01", "20260101", None, 20260101]),
        texts,
    ),
    "amount": st.one_of(
        st.integers(0, 6).flatmap(
            lambda places: st.decimals(min_value=-10, max_value=10**16, places=places)
        ).map(str),
        st.sampled_from(["1200.00", "1200", "1200.0000", "1200.00000", "0", "0.00", "-0.00", "1e3",
                         " 1.00", "1,00", "NaN", "Infinity", "0100.00", "1" * 16, None, 1200, 1200.0]),
        texts,
    ),
    "currency": st.one_of(st.none(), st.sampled_from(["CNY", "USD", "JPY", "cny", "XXX", "CN"]), texts, st.integers()),
}  # fmt: skip


@st.composite
def items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:  # now and then not an object at all
        return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2), texts))
    chosen = draw(st.sets(st.sampled_from(FIELDS)))
    item = {name: draw(values[name]) for name in FIELDS if name in chosen}
    if draw(st.integers(0, 20)) == 0:
        item["extra"] = 1
    return item


usual: dict[str, st.SearchStrategy[Any]] = {
    "loan_id": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@+#-]{0,8}", fullmatch=True),
    "case_id": st.uuids().map(str),
    "installment": st.one_of(st.sampled_from([-1, 0, 1, 1000, 1001]), st.integers(1, 1000)),
    "due_date": st.one_of(
        st.sampled_from(["1969-12-31", "1970-01-01", "2199-12-31", "2200-01-01"]),
        st.dates().map(str),
    ),
    "amount": st.integers(0, 5)
    .flatmap(lambda places: st.decimals(min_value=0, max_value=10**15, places=places))
    .map(str),
    "currency": st.sampled_from([None, "CNY", "USD", "JPY", "EUR"]),
}


@st.composite
def usual_items(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly what a bank sends, now and then with one field drawn from the wide values."""
    item = {name: draw(usual[name]) for name in ("installment", "due_date", "amount")}
    key = "loan_id" if draw(st.booleans()) else "case_id"
    item[key] = draw(usual[key])
    if draw(st.booleans()):
        item["currency"] = draw(usual["currency"])
    if draw(st.booleans()):
        odd = draw(st.sampled_from(FIELDS))
        item[odd] = draw(values[odd])
    return item


bodies = st.one_of(
    st.fixed_dictionaries({"items": st.lists(items(), max_size=4)}),
    st.fixed_dictionaries({"items": st.lists(usual_items(), min_size=1, max_size=4)}),
    st.fixed_dictionaries({"items": st.lists(items(), min_size=1, max_size=2), "more": st.just(1)}),
    st.none(),
    st.lists(st.integers(), max_size=1),
)


def _values(item: Any) -> tuple[Any, ...]:
    got = tuple(getattr(item, name) for name in FIELDS)
    return (*got, tuple(type(v) for v in got), str(item.amount))


@settings(max_examples=600, deadline=None)
@given(bodies)
def test_what_the_lean_reading_takes_the_model_takes_with_the_same_values(body: Any) -> None:
    lean = lean_items(body)
    try:
        model = MissedPaymentBatch.model_validate(body)
    except ValidationError:
        assert lean is None  # refused by the model: left to it, to name the field
        return
    if lean is not None:
        assert [_values(i) for i in lean] == [_values(i) for i in model.items]


def test_the_usual_file_is_read_lean_with_the_models_values() -> None:
    case_id = "0b7f6a1e-4d2c-4b8e-9f3a-2c1d5e6f7a8b"
    body = {
        "items": [
            {"loan_id": "LOAN-7", "installment": 3, "due_date": "2026-10-01", "amount": "1200.00"},
            {"case_id": case_id, "installment": 4, "due_date": "2026-10-01", "amount": "1200.00",
             "currency": "CNY"},
            {"loan_id": "LOAN-8", "installment": 1, "due_date": "2026-09-01", "amount": "5"},
        ]
    }  # fmt: skip

    lean = lean_items(body)
    batch = lean_body(body)

    assert lean is not None
    assert isinstance(batch, MissedPaymentBatch)
    model = MissedPaymentBatch.model_validate(body)
    assert [_values(i) for i in lean] == [_values(i) for i in model.items]
    assert [_values(i) for i in batch.items] == [_values(i) for i in model.items]
    assert lean[1].case_id == UUID(case_id)


@pytest.mark.parametrize(
    "item",
    [
        {"loan_id": "LOAN-7", "installment": 3, "due_date": "2026-10-01", "amount": "-1.00"},
        {"loan_id": "LOAN-7", "installment": True, "due_date": "2026-10-01", "amount": "1.00"},
        {"loan_id": "LOAN-7", "installment": 3, "due_date": "2026-10-01", "amount": "1.00", "x": 1},
        {"case_id": "0b7f6a1e4d2c4b8e9f3a2c1d5e6f7a8b", "installment": 3, "due_date": "2026-10-01",
         "amount": "1.00"},
    ],
)  # fmt: skip
def test_a_body_not_plainly_valid_is_left_to_the_model(item: dict[str, Any]) -> None:
    body = {"items": [item]}

    assert lean_items(body) is None
    assert lean_body(body) is body
