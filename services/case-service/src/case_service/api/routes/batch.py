"""`POST /v1/missed-payments:batch`: the daily file of missed installments from loan servicing."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from arrears.errors import Problem
from fastapi import APIRouter
from pydantic import BeforeValidator

from case_service.api.commands import problem_for
from case_service.api.deps import CasesDep, Origination
from case_service.api.routes.batch_body import lean_body
from case_service.api.schemas import BatchRejection, BatchResult, MissedPaymentBatch
from case_service.daily_file import MissedInstallment
from case_service.domain import CollectionCase

router = APIRouter(tags=["batch"])


@router.post("/v1/missed-payments:batch", response_model=BatchResult)
def record_missed_payments(
    body: Annotated[MissedPaymentBatch, BeforeValidator(lean_body)],
    cases: CasesDep,
    _: Origination,
) -> BatchResult:
    """Record a day's missed installments. Each item stands alone: one rejected item does not
    stop the others, and a resent item records nothing new, so the whole file can be resent."""
    items = []
    case_ids: dict[str, UUID] = {}  # a loan named several times (installments caught up)
    for index, item in enumerate(body.items):
        loan_id, case_id = item.loan_id, item.case_id
        if (loan_id is None) == (case_id is None):
            raise Problem(
                422,
                "Unprocessable Content",
                "give loan_id or case_id",
                field=f"items.{index}.loan_id",
            )
        if case_id is None:
            case_id = case_ids.get(loan_id or "")
            if case_id is None:
                case_id = case_ids[loan_id or ""] = CollectionCase.id_for_loan(loan_id or "")
        items.append(
            MissedInstallment(case_id, item.installment, item.due_date, item.amount, item.currency)
        )
    outcomes = cases.record_missed_installments(items, cases.clock.now())
    rejected = []
    recorded = unchanged = 0
    for index, (item, outcome) in enumerate(zip(body.items, outcomes, strict=True)):
        if outcome.error is None:
            recorded += bool(outcome.events)
            unchanged += not outcome.events
            continue
        problem = problem_for(outcome.error)
        field = problem.errors[0]["field"] if problem.errors else None
        rejected.append(
            BatchRejection(
                index=index,
                loan_id=item.loan_id,
                case_id=outcome.case_id,
                status=problem.status,
                field=field,
                detail=problem.detail,
            )
        )
    return BatchResult(
        received=len(body.items), recorded=recorded, unchanged=unchanged, rejected=rejected
    )
