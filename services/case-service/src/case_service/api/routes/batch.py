"""`POST /v1/missed-payments:batch`: the daily file of missed installments from loan servicing."""

from __future__ import annotations

from typing import Annotated

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
    for index, item in enumerate(body.items):
        if (item.loan_id is None) == (item.case_id is None):
            raise Problem(
                422,
                "Unprocessable Content",
                "give loan_id or case_id",
                field=f"items.{index}.loan_id",
            )
        items.append(
            MissedInstallment(
                case_id=item.case_id or CollectionCase.id_for_loan(item.loan_id or ""),
                installment=item.installment,
                due_date=item.due_date,
                amount=item.amount,
                currency=item.currency,
            )
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
