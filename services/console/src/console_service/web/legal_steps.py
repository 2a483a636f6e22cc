"""`/legal/cases/{case_id}`: a case's legal file (stage, limitation, cost-benefit, today's
recommendations) and the forms for the legal steps, posted to legal-service, which checks
them and forwards them to case-service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from arrears.legal_costs import LEGAL_COST_KINDS
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console_service.backends import BackendError
from console_service.vocabulary import N_
from console_service.web.core import (
    ConsoleContext,
    ContextDep,
    FormDep,
    SessionDep,
    render,
    require,
    token,
)

router = APIRouter()


@dataclass(frozen=True)
class Field:
    name: str  # as legal-service names it
    label: str
    choices: tuple[str, ...] = ()
    optional: bool = False
    kind: str = "text"  # the input's type: text, date, or textarea
    # Choices from the legal file (the case's guarantors' ids) instead of fixed ones.
    choices_from: str | None = None


@dataclass(frozen=True)
class Step:
    path: str
    title: str
    button: str
    moment: str | None  # the body's time field, set to now (None: the form names the day)
    fields: tuple[Field, ...]


STEPS = (
    Step(
        "notices",
        N_("Record a demand served"),
        N_("Record notice"),
        "served_at",
        (
            Field(
                "kind", N_("Notice kind"), ("demand_letter", "collection_notice", "legal_notice")
            ),
            Field(
                "delivered_via",
                N_("Delivered via"),
                ("registered_mail", "courier", "in_person", "letter", "email", "sms", "app_push"),
            ),
            Field("proof", N_("Proof of delivery"), optional=True),
        ),
    ),
    Step(
        "lawsuits",
        N_("Record a lawsuit filed"),
        N_("Record lawsuit"),
        "filed_at",
        (
            Field("court", N_("Court")),
            Field("docket_number", N_("Docket number")),
            Field("claim_amount", N_("Claim amount")),
        ),
    ),
    Step(
        "asset-preservations",
        N_("Record asset preservation granted"),
        N_("Record preservation"),
        "granted_at",
        (
            Field("court_order_ref", N_("Court order reference")),
            Field("amount", N_("Amount preserved")),
        ),
    ),
    Step(
        "judgments",
        N_("Record a judgment"),
        N_("Record judgment"),
        "entered_at",
        (
            Field("docket_number", N_("Judgment docket number")),
            Field("outcome", N_("Judgment outcome"), ("in_favour", "against", "settled_in_court")),
            Field("awarded_amount", N_("Awarded amount")),
        ),
    ),
    Step(
        "enforcements",
        N_("Record enforcement started"),
        N_("Record enforcement"),
        "started_at",
        (Field("enforcement_ref", N_("Enforcement reference")),),
    ),
    Step(
        "guarantor-demands",
        N_("Record a demand on a guarantor"),
        N_("Record guarantor demand"),
        "served_at",
        (
            Field("guarantor_id", N_("Guarantor"), choices_from="guarantors"),
            Field("amount", N_("Amount demanded")),
            Field("proof", N_("Proof of delivery"), optional=True),
        ),
    ),
    Step(
        "legal-costs",
        N_("Record a legal cost"),
        N_("Record cost"),
        None,
        (
            Field("kind", N_("Cost kind"), LEGAL_COST_KINDS),
            Field("amount", N_("Cost amount")),
            Field("incurred_on", N_("Incurred on"), kind="date"),
            Field("reference", N_("Invoice or receipt reference"), optional=True),
            Field("description", N_("Cost description"), optional=True, kind="textarea"),
        ),
    ),
    Step(
        "write-offs",
        N_("Write the case off"),
        N_("Record write-off"),
        "written_off_at",
        (
            Field("reason", N_("Write-off reason")),
            Field("approved_by", N_("Approved by")),
        ),
    ),
)
BY_PATH = {step.path: step for step in STEPS}


async def _page(
    request: Request,
    ctx: ConsoleContext,
    bearer: str,
    case_id: UUID,
    *,
    status: int = 200,
    **values: Any,
) -> Response:
    try:
        file = await ctx.backends.legal.get(f"/v1/legal/cases/{case_id}", bearer)
    except BackendError as exc:
        return render(request, ctx, "error.html", status=exc.status, error=exc)
    return render(
        request,
        ctx,
        "legal_case.html",
        status=status,
        file=file,
        steps=STEPS,
        today=ctx.clock.now().date().isoformat(),
        **values,
    )


@router.get("/legal/cases/{case_id}", response_class=HTMLResponse)
async def legal_case(
    request: Request, case_id: UUID, ctx: ContextDep, session: SessionDep
) -> Response:
    require(session.user, "legal")
    return await _page(
        request,
        ctx,
        token(ctx, session),
        case_id,
        recorded=request.query_params.get("recorded"),
        step_errors={},
        step_form={},
        failed=None,
    )


@router.post("/legal/cases/{case_id}/{step}", response_class=HTMLResponse)
async def record_step(
    request: Request,
    case_id: UUID,
    step: str,
    ctx: ContextDep,
    session: SessionDep,
    form: FormDep,
) -> Response:
    require(session.user, "legal")
    found = BY_PATH.get(step)
    if found is None:
        return RedirectResponse(f"/legal/cases/{case_id}", status_code=303)
    bearer = token(ctx, session)
    body: dict[str, Any] = {found.moment: ctx.clock.now().isoformat()} if found.moment else {}
    for field in found.fields:
        value = form.get(f"{step}-{field.name}", "").strip()
        if value or not field.optional:
            body[field.name] = value
    try:
        await ctx.backends.legal.post(
            f"/v1/legal/cases/{case_id}/{step}",
            bearer,
            body,
            # legal-service requires a key; the form carries one, a hand-made post gets one.
            key=form.get("idempotency_key") or str(uuid.uuid4()),
        )
    except BackendError as exc:
        errors = exc.field_errors()
        known = {field.name for field in found.fields}
        stray = [f"{name}: {message}" for name, message in errors.items() if name not in known]
        if stray or not errors:
            errors["form"] = "; ".join(stray) or exc.detail
        return await _page(
            request,
            ctx,
            bearer,
            case_id,
            status=422 if exc.status == 422 else 409,
            recorded=None,
            step_errors=errors,
            step_form=form,
            failed=step,
        )
    return RedirectResponse(f"/legal/cases/{case_id}?recorded={step}", status_code=303)
