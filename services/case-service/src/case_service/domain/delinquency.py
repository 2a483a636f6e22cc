"""Days past due, buckets and arrears, computed from the installment records.

An installment record is a dict: key, number, plan (0 = the loan's own schedule, n = the
n-th agreed payment plan), due_date, amount, paid, superseded. A reported missed
installment is due from the moment it is reported; a plan installment falls due when
its due date has passed unpaid.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from arrears import business_date

from .policy import CasePolicy

Installment = dict[str, Any]


def unpaid(inst: Installment) -> Decimal:
    remaining: Decimal = inst["amount"] - inst["paid"]
    return remaining


def is_open(inst: Installment) -> bool:
    return not inst["superseded"] and inst["paid"] < inst["amount"]


def is_due(inst: Installment, day: date) -> bool:
    """In arrears on `day`: open, and reported missed or (a plan installment) past its date."""
    return is_open(inst) and (inst["plan"] == 0 or inst["due_date"] < day)


def due_installments(installments: Iterable[Installment], day: date) -> list[Installment]:
    return sorted(
        (i for i in installments if is_due(i, day)),
        key=lambda i: (i["due_date"], i["plan"], i["number"]),
    )


def allocation_order(installments: Iterable[Installment]) -> list[Installment]:
    """Open installments, oldest due date first: the order a payment is allocated in."""
    return sorted(
        (i for i in installments if is_open(i)),
        key=lambda i: (i["due_date"], i["plan"], i["number"]),
    )


def arrears_on(installments: Iterable[Installment], day: date) -> Decimal:
    # A plain loop rather than sum() over a generator: the daily file asks this of a case
    # once per item, over all its installments (is_due and unpaid, the same sum in order).
    total = Decimal("0.00")
    for inst in installments:
        if is_due(inst, day):
            total += unpaid(inst)
    return total


def days_past_due_on(installments: Iterable[Installment], day: date) -> int:
    """Days from the oldest unpaid due installment's due date to the business `day`."""
    due: list[date] = [i["due_date"] for i in installments if is_due(i, day)]
    return business_date.days_past_due(min(due) if due else None, day)


def bucket_for(days_past_due: int, policy: CasePolicy) -> str:
    """M0 current, M1 1-30, M2 31-60, M3 61-90, M4+ over 90 (bounds from the policy)."""
    return business_date.bucket_for(days_past_due, policy.bucket_bounds, policy.last_bucket)
