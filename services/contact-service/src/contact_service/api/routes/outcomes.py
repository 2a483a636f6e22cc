"""Recording outcomes: `POST /v1/cases/{case_id}/contact-attempts` and `.../promises`.

Each is checked by the guard first: a contact the guard forbids is refused with 409 and the
reasons (unless the borrower contacted us), and is never forwarded. An allowed one is
queued in the command outbox (with the caller's Idempotency-Key) in the transaction that
records it here, then tried at once: case-service's answer is relayed; if case-service is
away, 202 and the forwarder delivers it later, once. `GET /v1/commands/{id}` tells where a
queued command stands.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from arrears.errors import Problem
from arrears.input import Position
from arrears.outbox import command_delivery
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import NoResultFound

from contact_service import sealing
from contact_service.api import schemas as s
from contact_service.api.deps import (
    Collector,
    ConnDep,
    ContextDep,
    IdempotencyKey,
    Reader,
    idempotency_key,
)
from contact_service.api.routes.permissions import check_at, evaluate, public
from contact_service.forwarding import answer, deliver, queue_command, queued_command
from contact_service.policy import model as m
from contact_service.policy.profiles import Profile
from contact_service.projections import fingerprint
from contact_service.readmodel import repository as repo

router = APIRouter(tags=["outcomes"])
CLOCK_SKEW = timedelta(minutes=5)  # as case-service allows
# Frequency limits concern placing contacts; a promise is made in a contact already counted.
FREQUENCY = {
    "connected_calls_per_day",
    "unanswered_dials_per_day",
    "calls_in_7_days",
    "conversation_cooldown",
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "case-service had recorded this already (a resend)"},
    201: {"description": "recorded by case-service (its answer, relayed)"},
    202: {"description": "queued: case-service is away; it will be delivered once"},
    404: {"description": "no such case"},
    409: {"description": "the guard forbids this contact (reasons in the body)"},
    422: {"description": "invalid body, no Idempotency-Key, or a key reused for another body"},
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


def _check_recording(profile: Profile, body: s.ContactAttemptCreate) -> None:
    """The case's profile may require every connected call to carry its recording."""
    if (
        profile.require_call_recording
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


@router.post(
    "/v1/cases/{case_id}/contact-attempts",
    status_code=201,
    summary="Record a contact attempt: checked by the guard, then forwarded to case-service",
    responses=RESPONSES,
)
async def record_attempt(
    case_id: UUID,
    body: s.ContactAttemptCreate,
    ctx: ContextDep,
    caller: Collector,
    key_header: IdempotencyKey = None,
) -> JSONResponse:
    inbound = body.direction == "inbound"
    if body.occurred_at > ctx.clock.now() + CLOCK_SKEW:
        # Not guarded, counted or forwarded: case-service would refuse it anyway.
        raise Problem(
            422, "Unprocessable Content", "must not be in the future", field="occurred_at"
        )
    mark = fingerprint(
        str(case_id), body.channel, body.party, body.contact_point, body.outcome, body.occurred_at
    )
    request = m.ContactRequest(
        body.party, body.channel, body.contact_point, body.occurred_at, body.purpose, inbound
    )
    forwarded: dict[str, Any] = body.model_dump(mode="json", exclude={"direction", "purpose"})
    if forwarded.get("agent_id") is None:
        forwarded["agent_id"] = caller.subject
    key = idempotency_key(key_header, case_id, "contact-attempts", forwarded)
    pending = {"case_id": str(case_id), "command": "contact-attempts", "idempotency_key": key}
    # The number waits sealed in the outbox; the forwarder opens it as it sends.
    sealed = sealing.seal_fields(forwarded, ("contact_point", "notes"))
    async with ctx.engine.begin() as conn:
        queued = await queued_command(
            conn, case_id=str(case_id), command="contact-attempts", body=sealed, key=key
        )
    if queued is not None:
        return answer(await deliver(ctx, queued), pending, replayed=True)
    async with ctx.engine.begin() as conn:
        inputs, decision = await evaluate(
            ctx, conn, case_id, request, exclude=mark, use="attempt", asked_by=caller.subject
        )
        _check_recording(ctx.profile_of(inputs.view.jurisdiction), body)
        verdict = public(case_id, decision, body.contact_point, body.occurred_at)
        if not decision.allowed:
            raise _refused(decision, verdict)
        command_id = await queue_command(
            conn, case_id=str(case_id), command="contact-attempts", body=sealed, key=key
        )
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
                "point_masked": m.mask_point(body.contact_point),
                "outcome": body.outcome,
                "inbound": inbound,
                "agent_id": forwarded["agent_id"],
                "recording_ref": body.recording_ref,
                "strategy": inputs.row["strategy"],
                "arm": inputs.row["arm"],
                "command_id": command_id,
            },
        )
    delivery = await deliver(ctx, command_id)
    return answer(delivery, {**pending, "guard": verdict.model_dump(mode="json")})


@router.post(
    "/v1/cases/{case_id}/promises",
    status_code=201,
    summary="Record a promise to pay: checked by the guard, then forwarded to case-service",
    responses=RESPONSES,
)
async def record_promise(
    case_id: UUID,
    body: s.PromiseCreate,
    ctx: ContextDep,
    caller: Collector,
    key_header: IdempotencyKey = None,
) -> JSONResponse:
    made_at = body.made_at or ctx.clock.now()
    check_at(made_at, ctx.clock.now(), "made_at")
    forwarded: dict[str, Any] = {
        "amount": str(body.amount),
        "promised_date": str(body.promised_date),
    }
    if body.currency is not None:
        forwarded["currency"] = body.currency
    key = idempotency_key(key_header, case_id, "promises", forwarded)
    pending = {"case_id": str(case_id), "command": "promises", "idempotency_key": key}
    sealed = sealing.seal_fields(forwarded, ("contact_point",))
    async with ctx.engine.begin() as conn:
        queued = await queued_command(
            conn, case_id=str(case_id), command="promises", body=sealed, key=key
        )
    if queued is not None:
        return answer(await deliver(ctx, queued), pending, replayed=True)
    async with ctx.engine.begin() as conn:
        point = body.contact_point
        if point is None:
            found = (await repo.points_of(conn, [str(case_id)])).get(str(case_id)) or []
            borrower = [p["value"] for p in found if p["party"] == "borrower"]
            point = borrower[0] if borrower else "unknown"
        request = m.ContactRequest(
            "borrower", body.channel, point, made_at, "collect", body.direction == "inbound"
        )
        _, decision = await evaluate(
            ctx, conn, case_id, request, use="promise", asked_by=caller.subject
        )
        verdict = public(case_id, decision, point, made_at)
        lasting = [r for r in decision.reasons if r.code not in FREQUENCY]
        if lasting:
            raise _refused(m.Decision(False, tuple(lasting)), verdict)
        command_id = await queue_command(
            conn, case_id=str(case_id), command="promises", body=sealed, key=key
        )
    delivery = await deliver(ctx, command_id)
    return answer(delivery, {**pending, "guard": verdict.model_dump(mode="json")})


@router.get("/v1/commands/{command_id}", summary="Where a forwarded command stands")
async def command_status(command_id: Position, conn: ConnDep, _caller: Reader) -> dict[str, Any]:
    try:
        delivery = await command_delivery(conn, command_id)
    except NoResultFound:
        raise Problem(404, "Not Found", f"no command {command_id}", field="command_id") from None
    return {
        "command_id": delivery.command_id,
        "outcome": delivery.outcome,
        "status": delivery.status,
        "response": delivery.body,
        "last_error": delivery.last_error,
    }
