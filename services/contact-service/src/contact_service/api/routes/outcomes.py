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

from arrears.auth import Principal
from arrears.errors import Problem
from arrears.input import Position
from arrears.logging import get_correlation_id
from arrears.outbox import PENDING, Delivery, command_delivery
from fastapi import APIRouter, Response
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
    not_found,
)
from contact_service.api.routes.permissions import check_at, public
from contact_service.context import Context
from contact_service.forwarding import answer, key_reused
from contact_service.metrics import counted
from contact_service.policy import guard
from contact_service.policy import model as m
from contact_service.policy.profiles import Profile
from contact_service.projections import fingerprint
from contact_service.readmodel import repository as repo
from contact_service.readmodel.repository import commands

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
) -> Response:
    return await run_attempt(ctx, caller, case_id, body, key_header)


async def run_attempt(
    ctx: Context,
    caller: Principal,
    case_id: UUID,
    body: s.ContactAttemptCreate,
    key_header: str | None,
) -> Response:
    """What the route does once its input is checked (by FastAPI, or by the lean path,
    api/fast.py, which answers the same)."""
    now = ctx.clock.now()
    inbound = body.direction == "inbound"
    if body.occurred_at > now + CLOCK_SKEW:
        # Not guarded, counted or forwarded: case-service would refuse it anyway.
        raise Problem(
            422, "Unprocessable Content", "must not be in the future", field="occurred_at"
        )
    case = str(case_id)
    mark = fingerprint(
        case, body.channel, body.party, body.contact_point, body.outcome, body.occurred_at
    )
    request = m.ContactRequest(
        body.party, body.channel, body.contact_point, body.occurred_at, body.purpose, inbound
    )
    forwarded: dict[str, Any] = body.model_dump(mode="json", exclude={"direction", "purpose"})
    if forwarded.get("agent_id") is None:
        forwarded["agent_id"] = caller.subject
    key = idempotency_key(key_header, case_id, "contact-attempts", forwarded)
    pending = {"case_id": case, "command": "contact-attempts", "idempotency_key": key}
    # The number waits sealed in the outbox; the forwarder opens it as it sends.
    sealed = sealing.seal_fields(forwarded, ("contact_point", "notes"))
    pool = await ctx.read_pool.get()
    async with commands.case_transaction(pool, case) as conn:
        inputs, queued = await commands.command_inputs(
            conn, case, now, command="contact-attempts", key=key, body=sealed, exclude=mark
        )
        if queued is None:
            if inputs is None:
                raise not_found(case_id)
            profile = ctx.profile_of(inputs.view.jurisdiction)
            decision = counted(
                guard.decide(inputs.view, inputs.history, profile, request, now), "outcome"
            )
            row = repo.decision_row(
                case, request, decision, profile, use="attempt", asked_by=caller.subject,
                decided_at=now,
            )  # fmt: skip
            if not decision.allowed:
                await commands.store_decision(conn, row)  # kept: the refusal is on record
            else:
                _check_recording(profile, body)
                point = m.point_key(body.contact_point)
                attempt = (
                    mark, body.occurred_at, body.channel, body.party, point,
                    m.mask_point(body.contact_point), body.outcome, inbound,
                    forwarded["agent_id"], body.recording_ref, inputs.row["strategy"],
                    inputs.row["arm"],
                )  # fmt: skip
                queueing = await commands.queue_decided(
                    conn, row, command="contact-attempts", key=key, body=sealed,
                    correlation_id=get_correlation_id(), attempt=attempt,
                    answered=_answered(ctx),
                )  # fmt: skip
                if queueing.command_id is None:  # a concurrent resend queued it first
                    queued = await commands.queued_meanwhile(
                        conn, case, "contact-attempts", key, sealed
                    )
    if queued is not None:
        return await _replay(ctx, queued, pending)
    if not decision.allowed:
        _check_recording(profile, body)
        raise _refused(decision, public(case_id, decision, body.contact_point, body.occurred_at))
    delivery = await _send(ctx, queueing, case, "contact-attempts", key, forwarded)
    if delivery.outcome != PENDING:  # case-service's own answer: the guard's is not shown
        return answer(delivery, pending)
    verdict = public(case_id, decision, body.contact_point, body.occurred_at)
    return answer(delivery, {**pending, "guard": verdict.model_dump(mode="json")})


def _borrower_point(inputs: repo.PolicyInputs) -> str:
    """The contact a promise was made in, when the caller does not say: the borrower's first
    point (its blind index)."""
    borrower = [str(p["value"]) for p in inputs.points if p["party"] == "borrower"]
    return borrower[0] if borrower else "unknown"


async def _replay(ctx: Context, queued: commands.Queued, pending: dict[str, Any]) -> Response:
    """A resend of a queued command: answered as the first time, without asking the guard
    again (whose counts now include it). The same key with another body is 422."""
    if not queued.same:
        raise key_reused()
    known = _answer_not_written(ctx, queued.command_id)
    if known is not None:
        return answer(known, pending, replayed=True)
    if ctx.forwarder is None:
        return answer(Delivery(queued.command_id, PENDING), pending, replayed=True)
    return answer(await ctx.forwarder.deliver_now(queued.command_id), pending, replayed=True)


def _answered(ctx: Context) -> list[int]:
    """Commands answered by case-service whose answer is not yet written (forwarding.Outcomes)."""
    return [] if ctx.sender is None else ctx.sender.outcomes.ids()


def _answer_not_written(ctx: Context, command_id: int) -> Delivery | None:
    return None if ctx.sender is None else ctx.sender.outcomes.get(command_id)


async def _send(
    ctx: Context,
    queueing: commands.Queueing,
    case_id: str,
    command: str,
    key: str,
    body: dict[str, Any],
) -> Delivery:
    """Send what this request queued, at once; behind an earlier command to the case, or
    without a sender, it waits for the forwarder (202)."""
    assert queueing.command_id is not None
    if ctx.sender is None or queueing.behind:
        if ctx.sender is not None:
            # What it waits behind may be answered already: written now, so the forwarder
            # finds it delivered, and the forwarder woken again by the next answers written.
            await ctx.sender.outcomes.flush(wake_after_next=True)
        if ctx.forwarder is not None:
            ctx.forwarder.wake()
        return Delivery(queueing.command_id, PENDING)
    return await ctx.sender.send(
        await ctx.read_pool.get(),
        queueing.command_id,
        case_id=case_id,
        command=command,
        key=key,
        body=body,
        correlation_id=get_correlation_id(),
    )


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
) -> Response:
    return await run_promise(ctx, caller, case_id, body, key_header)


async def run_promise(
    ctx: Context,
    caller: Principal,
    case_id: UUID,
    body: s.PromiseCreate,
    key_header: str | None,
) -> Response:
    """What the route does once its input is checked (by FastAPI, or by the lean path,
    api/fast.py, which answers the same)."""
    now = ctx.clock.now()
    made_at = body.made_at or now
    check_at(made_at, now, "made_at")
    forwarded: dict[str, Any] = {
        "amount": str(body.amount),
        "promised_date": str(body.promised_date),
    }
    if body.currency is not None:
        forwarded["currency"] = body.currency
    case = str(case_id)
    key = idempotency_key(key_header, case_id, "promises", forwarded)
    pending = {"case_id": case, "command": "promises", "idempotency_key": key}
    sealed = sealing.seal_fields(forwarded, ("contact_point",))
    pool = await ctx.read_pool.get()
    async with commands.case_transaction(pool, case) as conn:
        inputs, queued = await commands.command_inputs(
            conn, case, now, command="promises", key=key, body=sealed
        )
        if queued is None:
            if inputs is None:
                raise not_found(case_id)
            point = body.contact_point or _borrower_point(inputs)
            request = m.ContactRequest(
                "borrower", body.channel, point, made_at, "collect", body.direction == "inbound"
            )
            profile = ctx.profile_of(inputs.view.jurisdiction)
            decision = counted(
                guard.decide(inputs.view, inputs.history, profile, request, now), "outcome"
            )
            row = repo.decision_row(
                case, request, decision, profile, use="promise", asked_by=caller.subject,
                decided_at=now,
            )  # fmt: skip
            lasting = [r for r in decision.reasons if r.code not in FREQUENCY]
            if lasting:
                await commands.store_decision(conn, row)  # kept: the refusal is on record
            else:
                queueing = await commands.queue_decided(
                    conn, row, command="promises", key=key, body=sealed,
                    correlation_id=get_correlation_id(), answered=_answered(ctx),
                )  # fmt: skip
                if queueing.command_id is None:  # a concurrent resend queued it first
                    queued = await commands.queued_meanwhile(conn, case, "promises", key, sealed)
    if queued is not None:
        return await _replay(ctx, queued, pending)
    if lasting:
        raise _refused(m.Decision(False, tuple(lasting)), public(case_id, decision, point, made_at))
    delivery = await _send(ctx, queueing, case, "promises", key, forwarded)
    if delivery.outcome != PENDING:  # case-service's own answer: the guard's is not shown
        return answer(delivery, pending)
    verdict = public(case_id, decision, point, made_at)
    return answer(delivery, {**pending, "guard": verdict.model_dump(mode="json")})


@router.get("/v1/commands/{command_id}", summary="Where a forwarded command stands")
async def command_status(
    command_id: Position, ctx: ContextDep, conn: ConnDep, _caller: Reader
) -> dict[str, Any]:
    try:
        delivery = _answer_not_written(ctx, command_id) or await command_delivery(conn, command_id)
    except NoResultFound:
        raise Problem(404, "Not Found", f"no command {command_id}", field="command_id") from None
    return {
        "command_id": delivery.command_id,
        "outcome": delivery.outcome,
        "status": delivery.status,
        "response": delivery.body,
        "last_error": delivery.last_error,
    }
