"""The consumers' typed event classes: generated from the catalogue's schemas, kept current,
and strict about what the schemas promise."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from arrears.events import CASE_EVENT_TYPES, EventDataError
from arrears.events.catalogue import ContactAttempted, PaymentMissed
from arrears_dev.event_types import SCHEMAS, TARGET, render
from legal_service.projections import fold

MISSED = {"installment": 3, "due_date": "2026-10-01", "amount": "1200.00", "currency": "CNY"}


def test_the_checked_in_classes_are_generated_from_the_current_schemas() -> None:
    assert TARGET.read_text() == render(), "run: python -m arrears_dev.event_types"


def test_every_event_of_the_catalogue_has_a_class() -> None:
    names = {Path(p).stem.removeprefix("collections.case.") for p in SCHEMAS.glob("*.*.*.json")}

    assert set(CASE_EVENT_TYPES) == names


def test_data_is_read_into_its_types_and_unknown_fields_are_ignored() -> None:
    missed = PaymentMissed.read({**MISSED, "added_in_a_later_minor_version": True})

    assert missed.amount == Decimal("1200.00")
    assert missed.due_date == date(2026, 10, 1)
    assert missed.installment == 3


def test_a_missing_field_is_named() -> None:
    with pytest.raises(EventDataError, match="PaymentMissed: no 'due_date'"):
        PaymentMissed.read({k: v for k, v in MISSED.items() if k != "due_date"})


@pytest.mark.parametrize(
    ("field", "value"), [("amount", 1200.0), ("installment", "3"), ("due_date", "yesterday")]
)
def test_a_value_of_the_wrong_type_is_refused(field: str, value: object) -> None:
    with pytest.raises(EventDataError):
        PaymentMissed.read({**MISSED, field: value})


def test_a_time_without_an_offset_is_read_as_utc_and_nulls_stay_none() -> None:
    attempt = ContactAttempted.read(
        {
            "channel": "call",
            "party": "borrower",
            "contact_point": "+86 138****0001",
            "outcome": "no_answer",
            "occurred_at": "2026-11-02T02:00:00",
            "local_time_of_day": "morning",
            "agent_id": None,
            "recording_ref": None,
            "notes": None,
        }
    )

    assert attempt.occurred_at == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    assert attempt.agent_id is None


def test_the_legal_fold_refuses_an_event_that_breaks_its_schema() -> None:
    state = fold.new_state("case-1")

    with pytest.raises(EventDataError, match="no 'amount'"):
        fold.apply(state, "PaymentMissed", {k: v for k, v in MISSED.items() if k != "amount"})
    assert state["installments"] == {}
