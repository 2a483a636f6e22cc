"""The JSON-ready view of a case for the HTTP API (money as strings, dates ISO 8601)."""

from __future__ import annotations

from datetime import date
from typing import Any

from . import delinquency
from .catalogue import to_json
from .state import CaseState


def case_view(case: CaseState, as_of: date) -> dict[str, Any]:
    risk = case.risk_grade_on(as_of)
    limitation = case.limitation_expires_on
    installments = sorted(
        case.installments.values(), key=lambda i: (i["due_date"], i["plan"], i["number"])
    )
    view: dict[str, Any] = {
        "case_id": str(case.id),
        "loan_id": case.loan_id,
        "product": case.product,
        "currency": case.currency,
        "principal": case.principal,
        "version": case.version,
        "status": case.status,
        "close_reason": case.close_reason,
        "as_of": as_of,
        "days_past_due": case.days_past_due_on(as_of),
        "bucket": case.bucket_on(as_of),
        "arrears": case.arrears_on(as_of),
        "outstanding_balance": case.outstanding_balance,
        "risk_grade": risk.grade,
        "risk_score": risk.score,
        "risk_factors": risk.factors,
        "contactability": case.contactability,
        "promises": [
            {
                "promise_id": p["promise_id"],
                "amount": p["amount"],
                "promised_date": p["promised_date"],
                "status": p["status"],
                "made_at": p["made_at"],
                "paid": p["paid"],
            }
            for p in case.promises
        ],
        "legal_stage": case.legal_stage,
        "legal_costs_total": case.legal_costs_total,
        "limitation_expires_on": limitation,
        "placed_with_agency": case.agency_id is not None,
        "agency_id": case.agency_id,
        "open_complaints": case.open_complaints,
        "in_dispute": case.in_dispute,
        "borrower": case.borrower,
        "guarantors": case.guarantors,
        "collateral": case.collateral,
        "installments": [
            {
                "key": i["key"],
                "number": i["number"],
                "plan": i["plan"],
                "due_date": i["due_date"],
                "amount": i["amount"],
                "paid": i["paid"],
                "unpaid": delinquency.unpaid(i),
                "status": _installment_status(i, as_of),
            }
            for i in installments
        ],
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
    }
    result: dict[str, Any] = to_json(view)
    return result


def _installment_status(inst: dict[str, Any], as_of: date) -> str:
    if inst["paid"] >= inst["amount"]:
        return "paid"
    if inst["superseded"]:
        return "superseded"
    return "overdue" if delinquency.is_due(inst, as_of) else "scheduled"
