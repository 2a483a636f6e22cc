"""Field visits, complaints and disputes from the case screen: posted by htmx straight to
case-service's commands with the user's token; the answer replaces the panel."""

from __future__ import annotations

import uuid
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
VISIT_OUTCOMES = ("met_borrower", "met_third_party", "nobody_home", "moved_away", "refused")
COMPLAINT_CATEGORIES = (
    "service",
    "harassment",
    "do_not_contact",
    "cease_communication",
    "attorney",
    "workplace_forbidden",
)
RECEIVED_VIA = ("call", "letter", "email", "branch", "regulator")


def _body(kind: str, form: dict[str, str], now: str) -> dict[str, Any]:
    if kind == "field-visits":
        return {
            "visited_at": now,
            "address": form.get("address", ""),
            "outcome": form.get("visit_outcome", ""),
            "notes": form.get("visit_notes") or None,
        }
    if kind == "complaints":
        return {
            "complaint_id": f"C-{uuid.uuid4().hex[:12]}",
            "channel": form.get("received_via", ""),
            "category": form.get("category", ""),
            "description": form.get("description", ""),
            "received_at": now,
        }
    return {"reason": form.get("dispute_reason", ""), "raised_at": now}


# The services' field names, as this panel's fields are named.
FIELDS = {
    "outcome": "visit_outcome",
    "notes": "visit_notes",
    "channel": "received_via",
    "reason": "dispute_reason",
}


async def _record(
    request: Request, case_id: UUID, kind: str, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    require(session.user, "work_cases")
    bearer = token(ctx, session)
    body = _body(kind, form, ctx.clock.now().isoformat())
    errors: dict[str, str] = {}
    done = False
    try:
        await ctx.backends.case.post(
            f"/v1/cases/{case_id}/{kind}", bearer, body, key=form.get("idempotency_key") or None
        )
        done = True
    except BackendError as exc:
        errors = {FIELDS.get(k, k): v for k, v in exc.field_errors().items()} or {
            "form": exc.detail
        }
    case = await ctx.backends.case.get(f"/v1/cases/{case_id}", bearer, SUMMARY)
    values = {
        "case": case,
        "conduct_kind": kind,
        "conduct_done": done,
        "conduct_errors": errors,
        "conduct_form": {} if done else form,
    }
    if not is_htmx(request):
        return render(request, ctx, "conduct_page.html", **conduct_choices(), **values)
    return render(request, ctx, "_conduct_panel.html", **conduct_choices(), **values)


def conduct_choices() -> dict[str, Any]:
    return {
        "visit_outcomes": VISIT_OUTCOMES,
        "complaint_categories": COMPLAINT_CATEGORIES,
        "received_via": RECEIVED_VIA,
    }


@router.post("/cases/{case_id}/field-visits", response_class=HTMLResponse)
async def field_visit(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    return await _record(request, case_id, "field-visits", ctx, session, form)


@router.post("/cases/{case_id}/complaints", response_class=HTMLResponse)
async def complaint(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    return await _record(request, case_id, "complaints", ctx, session, form)


@router.post("/cases/{case_id}/disputes", response_class=HTMLResponse)
async def dispute(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    return await _record(request, case_id, "disputes", ctx, session, form)
