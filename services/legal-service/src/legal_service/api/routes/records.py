"""Records legal-service keeps itself: `POST /v1/legal/cases/{case_id}/legal-costs`,
`.../enforcement-outcomes`, `.../signals`. Each is idempotent on the caller's
Idempotency-Key: a resend of the same request answers 200 with the same id and
`Idempotent-Replayed: true`; the same key with another body is 422.

A legal cost is also a case fact: in the transaction that keeps it here, it is queued for
case-service's `POST /v1/cases/{case_id}/legal-costs` with the caller's key (as the steps in
steps.py are), so a resend forwards it once. The case event it becomes (LegalCostIncurred) is
the authoritative figure: the cost-benefit adds up the costs folded from the case events, and
the row kept here is the officer's request (who, what they wrote, its forwarding).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from arrears.errors import PROBLEM_JSON, Problem
from arrears.outbox import PENDING, REJECTED
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from legal_service.api import schemas as s
from legal_service.api.checks import day_in_window, money_fits_case, required_key
from legal_service.api.deps import ContextDep, IdempotencyKey, Officer, not_found
from legal_service.api.routes.steps import queue
from legal_service.context import Context
from legal_service.policy.recommend import asset_preservation, write_off
from legal_service.readmodel import repository as repo
from legal_service.readmodel.view import to_view
from legal_service.tasks import emit_once, task_for

router = APIRouter(prefix="/v1/legal/cases", tags=["legal records"])
RECORD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a replay (Idempotent-Replayed: true)", "model": s.Recorded},
    404: {"description": "no such case"},
    422: {"description": "invalid body, no Idempotency-Key, or the key used for another body"},
}


async def _state(conn: AsyncConnection, case_id: UUID) -> dict[str, Any]:
    state = await repo.case_state(conn, str(case_id))
    if state is None:
        raise not_found(case_id)
    return state


# What a resend must repeat to be the same request (not who sent it, nor when).
_SAME = {
    "cost": ("kind", "amount", "incurred_on", "reference", "description"),
    "enforcement-outcome": ("enforcement_ref", "outcome", "recovered_amount", "ended_on"),
    "signal": ("kind", "noted_on", "source"),
}


async def _replayed(
    conn: AsyncConnection, kind: str, record_id: str, values: dict[str, Any]
) -> bool:
    """True when this key recorded the same request before; 422 when it recorded another."""
    stored = await repo.stored_record(conn, kind, record_id)
    if stored is None:
        return False
    differing = [name for name in _SAME[kind] if stored[name] != values[name]]
    if differing:
        raise Problem(
            422,
            "Unprocessable Content",
            "this Idempotency-Key was already used with a different request"
            f" (differing: {', '.join(differing)})",
            field="Idempotency-Key",
        )
    return True


async def _react(ctx: Context, conn: AsyncConnection, case_id: str, state: dict[str, Any]) -> None:
    """A new signal or enforcement outcome may call for preservation or write-off at once."""
    local = (await repo.locals_for(conn, [case_id]))[case_id]
    view = to_view(state, local)
    now = ctx.clock.now()
    for rec in [*asset_preservation(view, ctx.policy), *write_off(view, ctx.today(), ctx.policy)]:
        await emit_once(conn, task_for(case_id, rec, now), ctx.emit)


async def _keep(
    conn: AsyncConnection,
    kind: str,
    record_id: str,
    values: dict[str, Any],
    add: Callable[[AsyncConnection, dict[str, Any]], Awaitable[bool]],
) -> bool:
    """Record once: True when recorded now, False for a replay of the same request."""
    if await _replayed(conn, kind, record_id, values):
        return False
    if await add(conn, values):
        return True
    await _replayed(conn, kind, record_id, values)  # a concurrent request won the insert
    return False


def _recorded(
    case_id: UUID, record_id: str, created: bool, forwarded: s.Forwarding | None = None
) -> JSONResponse:
    body = s.Recorded(case_id=case_id, record_id=record_id, created=created, forwarded=forwarded)
    headers = {} if created else {"Idempotent-Replayed": "true"}
    return JSONResponse(
        body.model_dump(mode="json"), status_code=201 if created else 200, headers=headers
    )


@router.post(
    "/{case_id}/legal-costs",
    status_code=201,
    response_model=s.Recorded,
    responses=RECORD_RESPONSES,
    summary="Record a legal cost (kept here and forwarded to the case's history; a resend"
    " with the same key is a no-op)",
)
async def record_cost(
    case_id: UUID,
    body: s.LegalCostCreate,
    ctx: ContextDep,
    caller: Officer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    key = required_key(idempotency_key)
    async with ctx.engine.begin() as conn:
        state = await _state(conn, case_id)
        money_fits_case(state, body)
        day_in_window(ctx, body.incurred_on, "incurred_on")
        cost_id = repo.record_id(str(case_id), "cost", key)
        values = {
            "cost_id": cost_id,
            "case_id": str(case_id),
            "kind": body.kind,
            "amount": body.amount,
            "currency": state["currency"],
            "incurred_on": body.incurred_on,
            "reference": body.reference,
            "description": body.description,
            "recorded_by": caller.subject,
            "recorded_at": ctx.clock.now(),
        }
        created = await _keep(conn, "cost", cost_id, values, repo.add_cost)
        command_id = await queue(conn, case_id, "legal-costs", body, key)
    forwarded: s.Forwarding = "queued"
    if ctx.forwarder is not None:
        delivery = await ctx.forwarder.deliver_now(command_id)
        if delivery.outcome == REJECTED and delivery.status is not None:
            # case-service refused it (e.g. the reference is recorded with other figures):
            # its answer, as for a step; the case's history, and so the costs, stay unchanged.
            headers = {} if created else {"Idempotent-Replayed": "true"}
            return JSONResponse(
                delivery.body, status_code=delivery.status, media_type=PROBLEM_JSON, headers=headers
            )
        if delivery.outcome == PENDING:
            ctx.forwarder.wake()
        else:
            forwarded = "accepted"
    return _recorded(case_id, cost_id, created, forwarded)


@router.post(
    "/{case_id}/enforcement-outcomes",
    status_code=201,
    response_model=s.Recorded,
    responses=RECORD_RESPONSES,
    summary="Record how an enforcement ended (kept in legal-service)",
)
async def record_enforcement_outcome(
    case_id: UUID,
    body: s.EnforcementOutcomeCreate,
    ctx: ContextDep,
    caller: Officer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    key = required_key(idempotency_key)
    async with ctx.engine.begin() as conn:
        state = await _state(conn, case_id)
        money_fits_case(state, body)
        day_in_window(ctx, body.ended_on, "ended_on")
        if not state.get("enforcement"):
            raise Problem(409, "Conflict", "no enforcement has started on this case", field=None)
        if body.outcome == "no_assets_found" and body.recovered_amount != 0:
            raise Problem(
                422,
                "Unprocessable Content",
                "no assets found means nothing recovered",
                field="recovered_amount",
            )
        outcome_id = repo.record_id(str(case_id), "enforcement-outcome", key)
        values = {
            "outcome_id": outcome_id,
            "case_id": str(case_id),
            "enforcement_ref": body.enforcement_ref,
            "outcome": body.outcome,
            "recovered_amount": body.recovered_amount,
            "currency": state["currency"],
            "ended_on": body.ended_on,
            "recorded_by": caller.subject,
            "recorded_at": ctx.clock.now(),
        }
        created = await _keep(
            conn, "enforcement-outcome", outcome_id, values, repo.add_enforcement_outcome
        )
        if created:
            await _react(ctx, conn, str(case_id), state)
    return _recorded(case_id, outcome_id, created)


@router.post(
    "/{case_id}/signals",
    status_code=201,
    response_model=s.Recorded,
    responses=RECORD_RESPONSES,
    summary="Record what the file shows about the borrower (vanished, deceased, creditors)",
)
async def record_signal(
    case_id: UUID,
    body: s.SignalCreate,
    ctx: ContextDep,
    caller: Officer,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    key = required_key(idempotency_key)
    async with ctx.engine.begin() as conn:
        state = await _state(conn, case_id)
        day_in_window(ctx, body.noted_on, "noted_on")
        signal_id = repo.record_id(str(case_id), "signal", key)
        values = {
            "signal_id": signal_id,
            "case_id": str(case_id),
            "kind": body.kind,
            "noted_on": body.noted_on,
            "source": body.source,
            "recorded_by": caller.subject,
            "recorded_at": ctx.clock.now(),
        }
        created = await _keep(conn, "signal", signal_id, values, repo.add_signal)
        if created:
            await _react(ctx, conn, str(case_id), state)
    return _recorded(case_id, signal_id, created)
