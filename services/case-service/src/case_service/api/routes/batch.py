"""`POST /v1/missed-payments:batch`: the daily file of missed installments from loan servicing."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any
from uuid import UUID

from arrears.errors import Problem
from arrears.heap import collector_paused
from fastapi import APIRouter, Request, Response
from pydantic import BeforeValidator

from case_service.api.commands import problem_for
from case_service.api.deps import CasesDep, Origination
from case_service.api.routes.batch_body import BEGINNING, BodyRoute, LeanItem, lean_body
from case_service.api.schemas import BatchRejection, BatchResult, MissedPaymentBatch
from case_service.application import CaseApplication
from case_service.daily_file import BegunChunk, MissedInstallment
from case_service.daily_file.bulk import FIRST_CHUNK, begins_with
from case_service.domain import CollectionCase


class _Beginning:
    """The file's first items handed to the workers while the rest of the body is read
    (batch_body.py calls it, after the route's dependencies, authentication included, are
    solved): their first chunk is prepared meanwhile, a core that sat idle otherwise. The
    route takes it only if the whole body is valid and begins with these very items; a file
    refused, or read otherwise, drops it and nothing of it is appended."""

    size = FIRST_CHUNK

    def __init__(self, cases: CaseApplication) -> None:
        self._cases = cases
        self.lean: list[LeanItem] = []
        self.items: list[MissedInstallment] = []
        self.case_ids: dict[str, UUID] = {}
        self.begun: BegunChunk | None = None

    def __call__(self, items: list[LeanItem], total: int) -> None:
        try:
            self.items = _installments(items, self.case_ids)
        except Problem:  # an item with both ids or neither: the route refuses the file
            return
        self.lean = items
        try:
            self.begun = self._cases.begin_missed_installments(
                self.items, total, self._cases.clock.now()
            )
        except Exception:  # the file is read and recorded as without it
            _log.exception("the daily file's first chunk could not be begun")

    def taken(self, body: list[Any]) -> tuple[BegunChunk | None, list[MissedInstallment]]:
        """The begun chunk and its items, if `body` begins with the items it was begun on."""
        begun, lean = self.begun, self.lean
        self.begun = None
        if begun is None or not begins_with(body, lean):
            self.drop(begun)
            return None, []
        return begun, self.items[:]  # the route extends its copy; `begun` keeps its own

    def drop(self, begun: BegunChunk | None = None) -> None:
        begun = begun or self.begun
        self.begun = None
        if begun is not None:
            begun.drop()


class _PausedRoute(BodyRoute):
    """The file's request with the cyclic collector paused (arrears.heap): its tens of
    thousands of items, rows and outcomes live until the answer is sent, and collections
    meanwhile walked them again and again (0.3-0.5 s of a 100,000-item run's server);
    reference counting frees them when it ends. Its first items may be begun early
    (`_Beginning`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            beginning = _Beginning(request.app.state.cases)
            request.state.daily_file = beginning
            token = BEGINNING.set(beginning)
            try:
                with collector_paused():
                    return await handler(request)
            finally:
                BEGINNING.reset(token)
                beginning.drop()  # refused, or failed: not taken, never appended

        return handle


_log = logging.getLogger(__name__)
router = APIRouter(tags=["batch"], route_class=_PausedRoute)


@router.post("/v1/missed-payments:batch", response_model=BatchResult)
def record_missed_payments(
    body: Annotated[MissedPaymentBatch, BeforeValidator(lean_body)],
    cases: CasesDep,
    _: Origination,
    request: Request,
) -> BatchResult:
    """Record a day's missed installments. Each item stands alone: one rejected item does not
    stop the others, and a resent item records nothing new, so the whole file can be resent."""
    beginning: _Beginning = request.state.daily_file
    begun, items = beginning.taken(body.items)
    # The begun items were checked and named as here (`_installments`): only the rest is.
    items += _installments(body.items[len(items) :], beginning.case_ids, offset=len(items))
    now = begun.now if begun is not None else cases.clock.now()
    outcomes = cases.record_missed_installments(items, now, begun)
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


def _installments(
    body: Sequence[Any], case_ids: dict[str, UUID], offset: int = 0
) -> list[MissedInstallment]:
    """The items, each naming its case by id (a loan's id derived once per file: `case_ids`);
    an item with both or neither refused, naming it (`offset`: the first one's index)."""
    items = []
    id_for_loan = CollectionCase.id_for_loan
    for index, item in enumerate(body, offset):
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
    return items


def _loan_or_case(index: int) -> Problem:
    return Problem(
        422, "Unprocessable Content", "give loan_id or case_id", field=f"items.{index}.loan_id"
    )
