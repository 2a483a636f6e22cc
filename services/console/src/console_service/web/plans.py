"""A supervisor's actions on the case screen: agree a payment plan (extension or
restructuring, monthly instalments of one amount), place the case with an agency and recall it
from the agency; each goes to case-service with the supervisor's token, and the answer replaces the panel."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console_service.backends import BackendError
from console_service.web.core import (
    SUMMARY,
    ContextDep,
    FormDep,
    SessionDep,
    is_htmx,
    render,
    require,
    token,
)

router = APIRouter()
MAX_INSTALMENTS = 60


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has fewer days."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=last)
        except ValueError:
            continue
    raise AssertionError("every month has 28 days")


def instalments(form: dict[str, str]) -> tuple[list[dict[str, str]], dict[str, str]]:
    """The plan's instalments from the form, or the errors naming its fields."""
    errors: dict[str, str] = {}
    count = form.get("plan_count", "")
    if not count.isdigit() or not 1 <= int(count) <= MAX_INSTALMENTS:
        errors["plan_count"] = f"a number from 1 to {MAX_INSTALMENTS}"
    try:
        first = date.fromisoformat(form.get("plan_first_due", ""))
    except ValueError:
        errors["plan_first_due"] = "a date such as 2026-12-31"
    if errors:
        return [], errors
    amount = form.get("plan_amount", "")
    return [
        {"due_date": add_months(first, n).isoformat(), "amount": amount} for n in range(int(count))
    ], {}


# case-service names the amount inside each instalment: installments.0.amount.
FIELDS = {
    "amount": "plan_amount",
    "due_date": "plan_first_due",
    "kind": "plan_kind",
    "reason": "recall_reason",
}


async def _post(
    request: Request,
    case_id: UUID,
    path: str,
    body: dict[str, Any] | None,
    errors: dict[str, str],
    ctx: ContextDep,
    session: SessionDep,
    form: FormDep,
) -> Response:
    bearer = token(ctx, session)
    done = False
    if body is not None and not errors:
        try:
            await ctx.backends.case.post(
                f"/v1/cases/{case_id}/{path}",
                bearer,
                body,
                key=form.get("idempotency_key") or str(uuid.uuid4()),
            )
            done = True
        except BackendError as exc:
            errors = {FIELDS.get(k, k): v for k, v in exc.field_errors().items()} or {
                "form": exc.detail
            }
    case = await ctx.backends.case.get(f"/v1/cases/{case_id}", bearer, SUMMARY)
    return render(
        request,
        ctx,
        "_plans_panel.html" if is_htmx(request) else "plans_page.html",
        case=case,
        plans_done=path if done else None,
        plans_errors=errors,
        plans_form={} if done else form,
    )


@router.post("/cases/{case_id}/payment-plans", response_class=HTMLResponse)
async def payment_plan(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    require(session.user, "dashboard")
    planned, errors = instalments(form)
    body = {
        "kind": form.get("plan_kind", ""),
        "installments": planned,
        "approved_by": session.user.username,
        "agreed_at": ctx.clock.now().isoformat(),
    }
    return await _post(request, case_id, "payment-plans", body, errors, ctx, session, form)


@router.post("/cases/{case_id}/agency-placements", response_class=HTMLResponse)
async def agency_placement(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    require(session.user, "dashboard")
    body = {
        "agency_id": form.get("agency_id", ""),
        "consent_ref": form.get("consent_ref", ""),
        "placed_at": ctx.clock.now().isoformat(),
    }
    return await _post(request, case_id, "agency-placements", body, {}, ctx, session, form)


@router.post("/cases/{case_id}/agency-recalls", response_class=HTMLResponse)
async def agency_recall(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    require(session.user, "dashboard")
    body = {"reason": form.get("recall_reason", ""), "recalled_at": ctx.clock.now().isoformat()}
    return await _post(request, case_id, "agency-recalls", body, {}, ctx, session, form)
