"""Building case views for given-when-then tests of the legal policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from legal_service.policy.model import CaseView, Installment, Interruption


def case(
    *,
    due: date | None = date(2024, 1, 10),
    open_amount: str = "20000.00",
    outstanding: str = "80000.00",
    **changes: Any,
) -> CaseView:
    """An open, unsecured CNY case with one unpaid installment due on `due`."""
    installments = (Installment(due, Decimal(open_amount)),) if due else ()
    view = CaseView(
        case_id="case-1",
        currency="CNY",
        principal=Decimal("100000.00"),
        outstanding=Decimal(outstanding),
        installments=installments,
    )
    return replace(view, **changes)


def demand(on: date, proof: str | None = "EMS1234567890CN") -> Interruption:
    return Interruption(on=on, kind="demand", source="NoticeServed", proof=proof)


def kinds(recs: list[Any]) -> list[str]:
    return [r.kind for r in recs]
