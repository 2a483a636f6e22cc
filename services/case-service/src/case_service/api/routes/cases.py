"""Opening cases and reading them: current state, state at a version or moment, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from arrears.errors import FieldError, Problem
from arrears.input import Identifier, Instant, Version
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from case_service.api.commands import problem_for
from case_service.api.deps import CasesDep, IdempotencyKey, Origination, Reader, idempotency_claim
from case_service.api.schemas import CaseCreate, CaseCreated
from case_service.commands import CaseNotFound, IdempotencyConflict
from case_service.domain import CollectionCase, DomainError, event_payload

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
    fields = body.model_dump(mode="python")
    try:
        stored = cases.stored_reply(claim) if claim is not None else None
        if stored is not None:
            return JSONResponse(
                stored.body, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
            )
        case, created = cases.open_case(**fields)
        differing = [] if created else case.differences_from_opening(**fields)
    except (DomainError, IdempotencyConflict) as exc:
        raise problem_for(exc) from None
    if differing:
        raise _opened_differently(case, differing)
    reply = {"case_id": str(case.id), "version": case.version}
    status = 201 if created else 200
    if claim is not None:
        cases.remember_reply(claim, status, reply)
    return JSONResponse(
        reply,
        status_code=status,
        headers={"Location": f"/v1/cases/{case.id}", "ETag": f'"{case.version}"'},
    )


def _opened_differently(case: CollectionCase, differing: list[str]) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"loan {case.loan_id} already has case {case.id}, opened with other "
        + ", ".join(differing),
        errors=[
            FieldError(name, "differs from the case already open for this loan")
            for name in differing
        ],
        extra={"case_id": str(case.id)},
    )


@router.get("")
def find_cases(
    cases: CasesDep,
    _: Reader,
    loan_id: Annotated[Identifier, Query()],
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
    version: Annotated[Version | None, Query()] = None,
    as_of: Annotated[
        Instant | None,
        Query(
            description="by recorded time: the case as the store held it at this moment "
            "(events recorded by the database at or before it), not by business date"
        ),
    ] = None,
    installments: Annotated[
        bool,
        Query(
            description="false: leave out the instalment schedule (`installments`), which grows"
            " with every missed payment; a screen that shows only the figures asks for less"
        ),
    ] = True,
) -> dict[str, Any]:
    """The case now, or as it stood at `version` or, by recorded time, at the moment `as_of`
    (the answer then says `"as_of_basis": "recorded_time"`)."""
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
    view = case.view(day)
    if not installments:
        del view["installments"]
    if as_of is not None:
        view["as_of_basis"] = "recorded_time"
    return view


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
    """The case's complete history, oldest first. `recorded_at` is when the database wrote
    the event; `business_time` the (possibly simulated) clock of the command that made it;
    `correlation_id` the request that recorded it (null where none was kept)."""
    try:
        history = list(cases.history(case_id))
    except CaseNotFound as exc:
        raise problem_for(exc) from None
    recorded = cases.recorder_.recorded_times(case_id)
    correlations = cases.recorder_.correlations([(case_id, e.originator_version) for e in history])
    events = [
        {
            "version": e.originator_version,
            "type": type(e).__name__,
            "recorded_at": _iso(recorded.get(e.originator_version)),
            "business_time": e.timestamp.isoformat(),
            "correlation_id": correlations.get((case_id, e.originator_version)),
            "data": event_payload(e),
        }
        for e in history
    ]
    return {"case_id": str(case_id), "events": events}


def _iso(moment: datetime | None) -> str | None:
    # None only for an event stored before the hash chain existed (docs/audit.md).
    return moment.astimezone(UTC).isoformat() if moment is not None else None
