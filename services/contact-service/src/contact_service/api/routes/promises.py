"""The supervisor's lists: `GET /v1/promises` (due within dates, or resolved on a day) and
`GET /v1/blocked-cases` (open cases a lasting restriction keeps out of the queues) and
`GET /v1/agency-placements` (open cases placed with an external agency)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from arrears.business_date import business_date
from fastapi import APIRouter, Query

from contact_service.api.deps import Analyst, ConnDep, ContextDep
from contact_service.context import Context
from contact_service.policy import model as m
from contact_service.readmodel import derive
from contact_service.readmodel.repository.blocked import blocked_cases, placed_cases
from contact_service.readmodel.repository.promises import promises

router = APIRouter(prefix="/v1", tags=["promises"])


def _bucket_today(ctx: Context) -> Callable[[date | None], str]:
    """The bucket of an oldest unpaid due date on today's business date (as case-service)."""
    today = business_date(ctx.clock.now(), ctx.settings.business_timezone)
    return lambda oldest_due_on: derive.bucket(oldest_due_on, today)


@router.get("/promises", summary="Promises by status, due date or resolution date (loan masked)")
async def list_promises(
    conn: ConnDep,
    ctx: ContextDep,
    _caller: Analyst,
    status: Literal["open", "kept", "broken"] | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    resolved_on: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Dates are inclusive; each filter left out matches every promise."""
    rows = await promises(
        conn,
        status=status,
        due_from=due_from,
        due_to=due_to,
        resolved_on=resolved_on,
        limit=limit,
    )
    bucket = _bucket_today(ctx)
    return {
        "items": [
            {
                "promise_id": r["promise_id"],
                "case_id": r["case_id"],
                "loan_ref": m.mask_id(r["loan_id"]),
                "bucket": bucket(r["oldest_due_on"]),
                "amount": f"{r['amount']:.2f}",
                "currency": r["currency"],
                "promised_date": r["promised_date"].isoformat(),
                "status": r["status"],
                "resolved_on": r["resolved_on"].isoformat() if r["resolved_on"] else None,
                "strategy": {"name": r["strategy"], "arm": r["arm"]},
            }
            for r in rows
        ]
    }


@router.get("/blocked-cases", summary="Open cases kept out of the queues, and why (loan masked)")
async def list_blocked(
    conn: ConnDep,
    ctx: ContextDep,
    _caller: Analyst,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    rows = await blocked_cases(conn, limit)
    bucket = _bucket_today(ctx)
    return {
        "items": [
            {
                "case_id": r["case_id"],
                "loan_ref": m.mask_id(r["loan_id"]),
                "bucket": bucket(r["oldest_due_on"]),
                "flags": sorted(r["flags"] or []),
                "in_dispute": r["in_dispute"],
                "open_complaints": len(r["open_complaints"] or []),
            }
            for r in rows
        ]
    }


@router.get("/agency-placements", summary="Open cases placed with an agency (loan masked)")
async def list_placements(
    conn: ConnDep,
    ctx: ContextDep,
    _caller: Analyst,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    rows = await placed_cases(conn, limit)
    bucket = _bucket_today(ctx)
    return {
        "items": [
            {
                "case_id": r["case_id"],
                "loan_ref": m.mask_id(r["loan_id"]),
                "bucket": bucket(r["oldest_due_on"]),
                "agency_id": r["agency_id"],
                "arrears": f"{r['arrears']:.2f}",
                "currency": r["currency"],
            }
            for r in rows
        ]
    }
