"""Opening cases and reading them: current state, state at a version or moment, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from arrears.errors import Problem
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from case_service.api.commands import problem_for
from case_service.api.deps import CasesDep, IdempotencyKey, Origination, Reader, idempotency_claim
from case_service.api.schemas import CaseCreate, CaseCreated
from case_service.domain import CollectionCase, DomainError, event_payload
from case_service.executor import CaseNotFound
from case_service.persistence import IdempotencyRecord

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post(
    "",
    status_code=201,
    response_model=CaseCreated,
    responses={200: {"model": CaseCreated, "description": "the loan's case was already open"}},
)
def open_case(
    body: CaseCreate,
    request: Request,
    cases: CasesDep,
    _: Origination,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Open the collection case for a delinquent loan. The same loan returns the same case."""
    claim = idempotency_claim(request, idempotency_key, body.model_dump_json())
    if claim is not None:
        stored = cases.recorder_.find_idempotency(claim.scope, claim.key)
        if stored is not None:
            if stored.request_hash != claim.request_hash:
                raise Problem(
                    422,
                    "Unprocessable Content",
                    "this Idempotency-Key was already used with a different request",
                    field="Idempotency-Key",
                )
            return JSONResponse(stored.body, status_code=stored.status)
    fields = body.model_dump(mode="python")
    try:
        case, created = cases.open_case(**fields)
    except DomainError as exc:
        raise problem_for(exc) from None
    reply = {"case_id": str(case.id), "version": case.version}
    status = 201 if created else 200
    if claim is not None:
        cases.recorder_.save_idempotency(
            IdempotencyRecord(claim.key, claim.scope, claim.request_hash, status, reply)
        )
    return JSONResponse(
        reply,
        status_code=status,
        headers={"Location": f"/v1/cases/{case.id}", "ETag": f'"{case.version}"'},
    )


@router.get("")
def find_cases(
    cases: CasesDep,
    _: Reader,
    loan_id: Annotated[str, Query(min_length=1, max_length=100)],
) -> dict[str, Any]:
    """Look a case up by its loan id."""
    case_id = CollectionCase.id_for_loan(loan_id)
    try:
        case = cases.case(case_id)
    except CaseNotFound:
        return {"items": []}
    return {"items": [case.view(cases.today())]}


@router.get("/{case_id}")
def get_case(
    case_id: UUID,
    cases: CasesDep,
    response: Response,
    _: Reader,
    version: Annotated[int | None, Query(ge=1)] = None,
    as_of: Annotated[AwareDatetime | None, Query()] = None,
) -> dict[str, Any]:
    """The case now, or as it stood at `version` or at the moment `as_of`."""
    if version is not None and as_of is not None:
        raise Problem(
            422, "Unprocessable Content", "give version or as_of, not both", field="as_of"
        )
    try:
        if as_of is not None:
            moment = as_of.astimezone(UTC)
            case = cases.case_as_of(case_id, moment)
            day = moment.date()
        elif version is not None:
            case = cases.case(case_id, version=version)
            if case.version != version:
                raise Problem(
                    404, "Not Found", f"case {case_id} has no version {version}", field="version"
                )
            day = _recorded_on(case)
        else:
            case = cases.case(case_id)
            day = cases.today()
    except CaseNotFound as exc:
        raise problem_for(exc) from None
    response.headers["ETag"] = f'"{case.version}"'
    return case.view(day)


def _recorded_on(case: CollectionCase) -> Any:
    # A past version is judged as of the day its last event was recorded.
    stamp: datetime = case.modified_on
    return stamp.astimezone(UTC).date()


@router.get("/{case_id}/events")
def get_history(
    case_id: UUID,
    cases: CasesDep,
    _: Reader,
) -> dict[str, Any]:
    """The case's complete history, oldest first, each event with the correlation id of the
    request that recorded it (null where none was kept)."""
    try:
        history = list(cases.history(case_id))
    except CaseNotFound as exc:
        raise problem_for(exc) from None
    correlations = cases.recorder_.correlations([(case_id, e.originator_version) for e in history])
    events = [
        {
            "version": e.originator_version,
            "type": type(e).__name__,
            "recorded_at": e.timestamp.isoformat(),
            "correlation_id": correlations.get((case_id, e.originator_version)),
            "data": event_payload(e),
        }
        for e in history
    ]
    return {"case_id": str(case_id), "events": events}
