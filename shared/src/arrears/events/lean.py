"""Lean reads of the commonest case events' data, for rebuilds folding millions of them.

Each gives the fields as the JSON holds them when the data has the usual shape (the JSON
types case-service writes), else None: the caller then reads the typed class (`catalogue`),
which gives the same values or names what is wrong. tests/unit/shared/test_lean_events.py
holds each to its typed read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def usual_missed(data: Mapping[str, Any]) -> tuple[str, str, int] | None:
    """A PaymentMissed's amount, due date and installment number as written (a decimal
    string, an ISO date string, an int), when they and its currency have those JSON types."""
    amount, due, number = data.get("amount"), data.get("due_date"), data.get("installment")
    if (
        type(amount) is str
        and type(due) is str
        and type(number) is int  # not a bool, nor an int subclass
        and type(data.get("currency")) is str
    ):
        return amount, due, number
    return None
