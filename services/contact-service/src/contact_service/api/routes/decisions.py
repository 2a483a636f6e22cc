"""`GET /v1/cases/{case_id}/contact-decisions`: every guard decision given on a case, with the
profile and version that made it and each rule's outcome, newest first (the auditor's "why
was this call allowed on that day?")."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from arrears.input import PageLimit, PageOffset
from fastapi import APIRouter, Query

from contact_service.api import schemas as s
from contact_service.api.deps import Analyst, ConnDep, not_found
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1/cases", tags=["contact decisions"])


def _public(row: dict[str, Any]) -> s.DecisionPublic:
    return s.DecisionPublic(
        decision_id=row["id"],
        case_id=row["case_id"],
        decided_at=row["decided_at"],
        at=row["at"],
        use=row["use"],
        asked_by=row["asked_by"],
        party=row["party"],
        channel=row["channel"],
        contact_point=row["point_masked"],
        purpose=row["purpose"],
        direction=row["direction"],
        allowed=row["allowed"],
        reasons=[s.ReasonPublic(**r) for r in row["reasons"]],
        next_allowed_at=row["next_allowed_at"],
        profile=s.ProfilePublic(name=row["profile"], version=row["profile_version"]),
        rules=row["rules"],
    )


@router.get(
    "/{case_id}/contact-decisions",
    response_model=s.DecisionPage,
    summary="Every guard decision on the case: profile, version, rules and outcomes",
    responses={404: {"description": "no such case"}},
)
async def contact_decisions(
    case_id: UUID,
    conn: ConnDep,
    _caller: Analyst,
    limit: Annotated[PageLimit, Query(le=500)] = 100,
    offset: Annotated[PageOffset, Query()] = 0,
) -> s.DecisionPage:
    if await repo.get_case(conn, str(case_id)) is None:
        raise not_found(case_id)
    rows = await repo.decisions_of(conn, str(case_id), limit + 1, offset)
    more = len(rows) > limit
    return s.DecisionPage(
        case_id=case_id,
        items=[_public(r) for r in rows[:limit]],
        next_offset=offset + limit if more else None,
    )
