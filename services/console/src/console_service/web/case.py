"""`/cases/{case_id}`: the case screen, and the forms that record a contact attempt and a
promise (posted by htmx; the answer replaces only the form's panel)."""

from __future__ import annotations

import asyncio
import heapq
from typing import Any
from uuid import UUID

from arrears.vocabulary import CHANNELS, OUTCOMES
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from console_service.accounts import Session
from console_service.backends import BackendError
from console_service.web.conduct import conduct_choices
from console_service.web.core import (
    SUMMARY,
    ConsoleContext,
    ContextDep,
    FormDep,
    SessionDep,
    is_htmx,
    render,
    require,
    token,
)

router = APIRouter()
# The services' field names, as the form's fields are named.
RECENT = 20  # contacts shown on the case screen, newest first
FIELD_OF = {"contact_point": "number", "party": "number", "promised_date": "promised_date"}


def mask(point: str) -> str:
    """`+8613800000001` -> `+86*******0001` (as contact-service masks): enough to tell the
    numbers apart; the collector dials from the form, never by reading the number."""
    value = point.strip()
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = 3 if digits.startswith("+") else 2
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def contact_points(case: dict[str, Any]) -> list[dict[str, str]]:
    borrower = case.get("borrower") or {}
    points = []
    for phone in borrower.get("phones") or []:
        if isinstance(phone, dict) and phone.get("number"):
            points.append(
                {
                    "number": str(phone["number"]),
                    "masked": mask(str(phone["number"])),
                    "party": str(phone.get("owner") or "borrower"),
                    "kind": str(phone.get("kind") or "mobile"),
                }
            )
    return points


async def _guard(
    ctx: ConsoleContext, bearer: str, case_id: UUID, points: list[dict[str, str]]
) -> list[dict[str, Any] | None]:
    if not points:
        return []
    questions = [
        {
            "case_id": str(case_id),
            "party": p["party"],
            "channel": "call",
            "contact_point": p["number"],
        }
        for p in points
    ]
    try:
        reply = await ctx.backends.contact.post(
            "/v1/contact-permissions:batch", bearer, {"requests": questions}
        )
    except BackendError:
        return [None] * len(points)
    decisions: list[dict[str, Any] | None] = reply.get("decisions", [])
    return decisions


async def _optional(call: Any) -> tuple[Any, BackendError | None]:
    try:
        return await call, None
    except BackendError as exc:
        return None, exc


async def case_values(
    ctx: ConsoleContext,
    session: Session,
    case_id: UUID,
    case: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the case screen shows, each part from the service that owns it: the case
    and its contact view at once, then the guard's answer for the case's numbers."""
    bearer = token(ctx, session)
    view_call = _optional(ctx.backends.contact.get(f"/v1/cases/{case_id}/contact-view", bearer))
    if case is None:
        case, (view, view_error) = await asyncio.gather(
            ctx.backends.case.get(f"/v1/cases/{case_id}", bearer, SUMMARY), view_call
        )
    else:
        view, view_error = await view_call
    points = contact_points(case)
    decisions = await _guard(ctx, bearer, case_id, points) if view is not None else []
    zone = (case.get("borrower") or {}).get("timezone") or (view or {}).get("timezone")
    attempts = heapq.nlargest(
        RECENT, (view or {}).get("recent_attempts") or [], key=lambda a: a["occurred_at"]
    )
    return {
        "case": case,
        "view": view,
        "view_error": view_error,
        "zone": zone,
        "points": [
            {**p, "guard": d}
            for p, d in zip(points, decisions or [None] * len(points), strict=True)
        ],
        "attempts": attempts,
        "channels": CHANNELS,
        "outcomes": OUTCOMES,
        **conduct_choices(),
    }


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep
) -> Response:
    require(session.user, "read_cases")
    try:
        values = await case_values(ctx, session, case_id)
    except BackendError as exc:
        return render(request, ctx, "error.html", status=exc.status, error=exc)
    return render(request, ctx, "case.html", form={}, errors={}, **values)


@router.get("/cases/{case_id}/contact-attempts/new", response_class=HTMLResponse)
async def attempt_form_page(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep
) -> Response:
    """The attempt form on its own page (a link a dialer can open); 403 without the right."""
    require(session.user, "work_cases")
    try:
        values = await case_values(ctx, session, case_id)
    except BackendError as exc:
        return render(request, ctx, "error.html", status=exc.status, error=exc)
    return render(request, ctx, "attempt_page.html", form={}, errors={}, **values)


ATTEMPT_FIELDS = {"channel", "number", "outcome", "recording_ref", "notes"}
PROMISE_FIELDS = {"amount", "promised_date"}


def field_errors(exc: BackendError, known: set[str]) -> dict[str, str]:
    """The service's field errors under the form's field names; one about a field the form
    does not have (or none at all) goes above the form, so no refusal is ever silent."""
    found = {FIELD_OF.get(k, k): v for k, v in exc.field_errors().items()}
    stray = [f"{name}: {message}" for name, message in found.items() if name not in known]
    if stray or not found:
        found["form"] = "; ".join(stray) or exc.detail
    return found


@router.post("/cases/{case_id}/contact-attempts", response_class=HTMLResponse)
async def record_attempt(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    require(session.user, "work_cases")
    bearer = token(ctx, session)
    case = await ctx.backends.case.get(f"/v1/cases/{case_id}", bearer, SUMMARY)
    points = contact_points(case)
    errors: dict[str, str] = {}
    refusal: dict[str, Any] | None = None
    recorded: dict[str, Any] | None = None
    chosen = form.get("number", "")
    point = points[int(chosen)] if chosen.isdigit() and int(chosen) < len(points) else None
    if point is None:
        errors["number"] = "choose a number"
    else:
        body = {
            "channel": form.get("channel", ""),
            "party": point["party"],
            "contact_point": point["number"],
            "outcome": form.get("outcome", ""),
            "occurred_at": ctx.clock.now().isoformat(),
            "recording_ref": form.get("recording_ref") or None,
            "notes": form.get("notes") or None,
        }
        try:
            await ctx.backends.contact.post(
                f"/v1/cases/{case_id}/contact-attempts",
                bearer,
                body,
                key=form.get("idempotency_key") or None,
            )
            recorded = {**body, "contact_point": point["masked"]}
        except BackendError as exc:
            errors = field_errors(exc, ATTEMPT_FIELDS)
            if exc.status == 409:
                refusal = exc.problem
    # A refused attempt changed nothing: the case just read serves again.
    values = await case_values(ctx, session, case_id, None if recorded else case)
    return render(
        request,
        ctx,
        "_attempt_panel.html" if is_htmx(request) else "case.html",
        form={} if recorded else form,
        errors=errors,
        refusal=refusal,
        recorded=recorded,
        **values,
    )


@router.post("/cases/{case_id}/promises", response_class=HTMLResponse)
async def record_promise(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep, form: FormDep
) -> Response:
    require(session.user, "work_cases")
    bearer = token(ctx, session)
    body = {"amount": form.get("amount", ""), "promised_date": form.get("promised_date", "")}
    errors: dict[str, str] = {}
    refusal: dict[str, Any] | None = None
    made = False
    try:
        await ctx.backends.contact.post(
            f"/v1/cases/{case_id}/promises", bearer, body, key=form.get("idempotency_key") or None
        )
        made = True
    except BackendError as exc:
        errors = field_errors(exc, PROMISE_FIELDS)
        if exc.status == 409:
            refusal = exc.problem
    values = await case_values(ctx, session, case_id)
    return render(
        request,
        ctx,
        "_promise_panel.html" if is_htmx(request) else "case.html",
        promise_form={} if made else form,
        promise_errors=errors,
        promise_refusal=refusal,
        promise_made=made,
        **values,
    )
