"""`POST /v1/missed-payments:batch`: the daily file of missed installments from loan servicing."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from uuid import UUID

from arrears.errors import Problem
from arrears.heap import collector_paused
from fastapi import APIRouter, Request, Response
from pydantic import BeforeValidator

from case_service.api.commands import problem_for
from case_service.api.deps import CasesDep, Origination
from case_service.api.routes.batch_body import BodyRoute, lean_body
from case_service.api.schemas import BatchRejection, BatchResult, MissedPaymentBatch
from case_service.daily_file import MissedInstallment
from case_service.domain import CollectionCase


class _PausedRoute(BodyRoute):
    """The file's request with the cyclic collector paused (arrears.heap): its tens of
    thousands of items, rows and outcomes live until the answer is sent, and collections
    meanwhile walked them again and again (0.3-0.5 s of a 100,000-item run's server);
    reference counting frees them when it ends."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            with collector_paused():
                return await handler(request)

        return handle


router = APIRouter(tags=["batch"], route_class=_PausedRoute)


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
    id_for_loan = CollectionCase.id_for_loan
    for index, item in enumerate(body.items):
        loan_id, case_id = item.loan_id, item.case_id
        if case_id is None:
            if loan_id is None:
                raise _loan_or_case(index)
            case_id = case_ids.get(loan_id)
            if case_id is None:
                case_id = case_ids[loan_id] = id_for_loan(loan_id)
        elif loan_id is not None:
            raise _loan_or_case(index)
        items.append(
            MissedInstallment(case_id, item.installment, item.due_date, item.amount, item.currency)
        )
    outcomes = cases.record_missed_installments(items, cases.clock.now())
    if len(outcomes) != len(items):
        raise RuntimeError(f"{len(outcomes)} outcomes for {len(items)} items")
    rejected = []
    recorded = 0
    for index, outcome in enumerate(outcomes):
        if outcome.error is None:
            recorded += bool(outcome.events)
            continue
        problem = problem_for(outcome.error)
        field = problem.errors[0]["field"] if problem.errors else None
        rejected.append(
            BatchRejection(
                index=index,
                loan_id=body.items[index].loan_id,
                case_id=outcome.case_id,
                status=problem.status,
                field=field,
                detail=problem.detail,
            )
        )
    # A rejected item records nothing; the others recorded events or found them reported.
    return BatchResult(
        received=len(body.items),
        recorded=recorded,
        unchanged=len(outcomes) - recorded - len(rejected),
        rejected=rejected,
    )


def _loan_or_case(index: int) -> Problem:
    return Problem(
        422, "Unprocessable Content", "give loan_id or case_id", field=f"items.{index}.loan_id"
    )
