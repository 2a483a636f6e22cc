"""`/audit` (find a case by loan id) and `/cases/{case_id}/history`: every event in version
order, the case as it stood at a chosen version beside the case now, the verification of the
case's hash chain and its evidence bundle."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from console_service.backends import BackendError
from console_service.web.core import (
    SUMMARY,
    ContextDep,
    SessionDep,
    is_htmx,
    render,
    require,
    token,
)

router = APIRouter()
# The figures compared side by side (the whole state is in the events themselves).
COMPARED = (
    "version",
    "status",
    "bucket",
    "days_past_due",
    "arrears",
    "outstanding_balance",
    "risk_grade",
    "contactability",
    "legal_stage",
    "limitation_expires_on",
    "in_dispute",
    "placed_with_agency",
    "as_of",
)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    loan_id: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    require(session.user, "audit")
    error: BackendError | None = None
    missing = False
    if loan_id.strip():
        try:
            found = await ctx.backends.case.get(
                "/v1/cases", token(ctx, session), {"loan_id": loan_id.strip()}
            )
        except BackendError as exc:
            error = exc
        else:
            items = found.get("items") or []
            if items:
                return RedirectResponse(f"/cases/{items[0]['case_id']}/history", status_code=303)
            missing = True
    return render(request, ctx, "audit.html", loan_id=loan_id, missing=missing, error=error)


def differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "then": old.get(name) if old else None,
            "now": new.get(name),
            "changed": old is not None and old.get(name) != new.get(name),
        }
        for name in COMPARED
    ]


def _moment(value: str) -> str | None:
    """A `datetime-local` value (read as UTC) or an ISO 8601 time -> ISO 8601 with a zone."""
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()


@router.get("/cases/{case_id}/history.json")
async def history_export(case_id: UUID, ctx: ContextDep, session: SessionDep) -> Response:
    """The whole history as case-service gives it, as a file an auditor can keep."""
    require(session.user, "audit")
    bearer = token(ctx, session)
    try:
        history = await ctx.backends.case.get(f"/v1/cases/{case_id}/events", bearer)
    except BackendError as exc:
        return JSONResponse(exc.problem, status_code=exc.status)
    body = {
        "exported_at": datetime.now(UTC).isoformat(),
        "exported_by": session.user.username,
        **history,
    }
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}-history.json"'},
    )


@router.get("/cases/{case_id}/history", response_class=HTMLResponse)
async def history_page(
    request: Request,
    case_id: UUID,
    ctx: ContextDep,
    session: SessionDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    as_of: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    require(session.user, "audit")
    bearer = token(ctx, session)
    try:
        history, current = await asyncio.gather(
            ctx.backends.case.get(f"/v1/cases/{case_id}/events", bearer),
            ctx.backends.case.get(f"/v1/cases/{case_id}", bearer, SUMMARY),
        )
    except BackendError as exc:
        if exc.status in (401, 403, 404, 422):
            return render(request, ctx, "error.html", status=exc.status, error=exc)
        # The store could not be read back (an altered event no longer decrypts): the page
        # says so and still offers the chain's verification, which names what was altered.
        return render(
            request, ctx, "history_unreadable.html", status=exc.status, error=exc, case_id=case_id
        )
    events = sorted(history.get("events", []), key=lambda e: e["version"])
    then: dict[str, Any] | None = None
    then_error: BackendError | None = None
    moment = _moment(as_of)
    if version is not None or moment is not None:
        query: dict[str, Any] = {"version": version} if version else {"as_of": moment}
        query.update(SUMMARY)
        try:
            then = await ctx.backends.case.get(f"/v1/cases/{case_id}", bearer, query)
        except BackendError as exc:
            then_error = exc
    return render(
        request,
        ctx,
        "history.html",
        case=current,
        events=events,
        version=version,
        as_of=as_of if moment else "",
        rows=differences(then, current),
        then=then,
        then_error=then_error,
    )


@router.get("/cases/{case_id}/history/verification", response_class=HTMLResponse)
async def verification(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep
) -> Response:
    """case-service's verification of the case's hash chain and evidence bundle: loaded into
    the history page after it shows (it reads the store's chain), or as a page of its own."""
    require(session.user, "audit")
    result: dict[str, Any] | None = None
    error: BackendError | None = None
    try:
        result = await ctx.backends.case.get(
            f"/v1/audit/cases/{case_id}/verification", token(ctx, session)
        )
    except BackendError as exc:
        error = exc
    name = "_verification.html" if is_htmx(request) else "verification_page.html"
    return render(request, ctx, name, case_id=str(case_id), result=result, error=error)


@router.get("/cases/{case_id}/history.bundle.json")
async def bundle_export(case_id: UUID, ctx: ContextDep, session: SessionDep) -> Response:
    """The case's evidence bundle, byte for byte as case-service exports it (so that
    `arrears-audit verify-bundle` accepts it)."""
    require(session.user, "audit")
    try:
        body = await ctx.backends.case.get_bytes(
            f"/v1/audit/cases/{case_id}/bundle", token(ctx, session)
        )
    except BackendError as exc:
        return JSONResponse(exc.problem, status_code=exc.status)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}.bundle.json"'},
    )
