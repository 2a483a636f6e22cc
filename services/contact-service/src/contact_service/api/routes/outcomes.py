"""Recording outcomes: `POST /v1/cases/{case_id}/contact-attempts` and `.../promises`.

Each is checked by the guard first: a contact the guard forbids is refused with 409 and the
reasons (unless the borrower contacted us), and is never forwarded. An accepted one goes to
case-service through the command outbox with the caller's Idempotency-Key (202).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from arrears.errors import Problem
from arrears.logging import get_correlation_id
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contact_service.api import schemas as s
from contact_service.api.deps import Collector, ConnDep, ContextDep, IdempotencyKey, required_key
from contact_service.api.routes.permissions import evaluate, public
from contact_service.context import Context
from contact_service.forwarding import CommandQueue
from contact_service.policy import model as m
from contact_service.projections import fingerprint
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1/cases", tags=["outcomes"])
# Frequency limits concern placing contacts; a promise is made in a contact already counted.
FREQUENCY = {
    "connected_calls_per_day",
    "unanswered_dials_per_day",
    "calls_in_7_days",
    "conversation_cooldown",
}


def _refused(decision: m.Decision, guard: s.ContactPermissionPublic) -> Problem:
    return Problem(
        409,
        "Conflict",
        "the contact guard forbids this contact: " + "; ".join(r.message for r in decision.reasons),
        field="contact_point",
        extra={
            "reasons": [r.to_dict() for r in decision.reasons],
            "guard": guard.model_dump(mode="json"),
        },
    )


def _queue(ctx: Context) -> CommandQueue:
    if ctx.commands is None:
        raise Problem(503, "Service Unavailable", "the command outbox is not running")
    return ctx.commands


def _accepted(body: s.CommandQueued) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


@router.post(
    "/{case_id}/contact-attempts",
    status_code=202,
    response_model=s.CommandQueued,
    summary="Record a contact attempt: checked by the guard, then forwarded to case-service",
    responses={
        404: {"description": "no such case"},
        409: {"description": "the guard forbids this contact (reasons in the body)"},
        422: {"description": "invalid body, or no Idempotency-Key"},
    },
)
async def record_attempt(
    case_id: UUID,
    body: s.ContactAttemptCreate,
    ctx: ContextDep,
    conn: ConnDep,
    caller: Collector,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    key = required_key(idempotency_key)
    inbound = body.direction == "inbound"
    if (
        ctx.profile.require_call_recording
        and body.channel == "call"
        and body.outcome in m.CONNECTED_OUTCOMES
        and body.recording_ref is None
    ):
        raise Problem(
            422,
            "Unprocessable Content",
            "every connected call must be recorded",
            field="recording_ref",
        )
    mark = fingerprint(
        str(case_id), body.channel, body.party, body.contact_point, body.outcome, body.occurred_at
    )
    request = m.ContactRequest(
        body.party, body.channel, body.contact_point, body.occurred_at, body.purpose, inbound
    )
    inputs, decision = await evaluate(ctx, conn, case_id, request, exclude=mark)
    verdict = public(case_id, decision, body.contact_point, body.occurred_at)
    if not decision.allowed:
        raise _refused(decision, verdict)
    await repo.record_pending_attempt(
        conn,
        {
            "case_id": str(case_id),
            "fingerprint": mark,
            "version": None,
            "occurred_at": body.occurred_at,
            "channel": body.channel,
            "party": body.party,
            "point": m.point_key(body.contact_point),
            "outcome": body.outcome,
            "inbound": inbound,
            "agent_id": body.agent_id or caller.subject,
            "recording_ref": body.recording_ref,
            "strategy": inputs.row["strategy"],
            "arm": inputs.row["arm"],
        },
    )
    forwarded: dict[str, Any] = body.model_dump(mode="json", exclude={"direction", "purpose"})
    if forwarded.get("agent_id") is None:
        forwarded["agent_id"] = caller.subject
    status = await _queue(ctx).enqueue(
        conn,
        case_id=str(case_id),
        command="contact-attempts",
        body=forwarded,
        idempotency_key=key,
        correlation_id=get_correlation_id(),
    )
    return _accepted(
        s.CommandQueued(
            case_id=case_id,
            command="contact-attempts",
            idempotency_key=key,
            status=status,
            guard=verdict,
        )
    )


@router.post(
    "/{case_id}/promises",
    status_code=202,
    response_model=s.CommandQueued,
    summary="Record a promise to pay: checked by the guard, then forwarded to case-service",
    responses={
        404: {"description": "no such case"},
        409: {"description": "the guard forbids contact with the borrower (reasons in the body)"},
        422: {"description": "invalid body, or no Idempotency-Key"},
    },
)
async def record_promise(
    case_id: UUID,
    body: s.PromiseCreate,
    ctx: ContextDep,
    conn: ConnDep,
    _caller: Collector,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    key = required_key(idempotency_key)
    made_at = body.made_at or ctx.clock.now()
    point = body.contact_point
    if point is None:
        row_points = (await repo.points_of(conn, [str(case_id)])).get(str(case_id)) or []
        borrower = [p["value"] for p in row_points if p["party"] == "borrower"]
        point = borrower[0] if borrower else "unknown"
    request = m.ContactRequest(
        "borrower", body.channel, point, made_at, "collect", body.direction == "inbound"
    )
    _, decision = await evaluate(ctx, conn, case_id, request)
    lasting = [r for r in decision.reasons if r.code not in FREQUENCY]
    verdict = public(case_id, decision, point, made_at)
    if lasting:
        raise _refused(m.Decision(False, tuple(lasting)), verdict)
    forwarded = body.model_dump(mode="json", include={"amount", "promised_date", "currency"})
    forwarded["amount"] = str(body.amount)
    if forwarded.get("currency") is None:
        forwarded.pop("currency", None)
    status = await _queue(ctx).enqueue(
        conn,
        case_id=str(case_id),
        command="promises",
        body=forwarded,
        idempotency_key=key,
        correlation_id=get_correlation_id(),
    )
    return _accepted(
        s.CommandQueued(
            case_id=case_id, command="promises", idempotency_key=key, status=status, guard=verdict
        )
    )
