"""Recording legal steps the case history keeps: `POST /v1/legal/cases/{case_id}/<step>`.

Notices, lawsuits, asset preservations, judgments, enforcements, guarantor demands and
write-offs are checked here, then forwarded to case-service's matching
`POST /v1/cases/{case_id}/<step>` through the command outbox with the caller's
Idempotency-Key: the answer is case-service's own when it is up, or 202 (queued, delivered
once when it returns); a resend with the same key carries `Idempotent-Replayed: true`, the
same key with another body is 422. A legal officer recording a step on an unassigned case
takes it.
(Legal costs are in records.py: kept here and forwarded too; enforcement outcomes and
signals are kept here only.)
"""

# Every check has the same signature; not each uses every argument.
# ruff: noqa: ARG001

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from arrears.auth import Principal
from arrears.errors import PROBLEM_JSON, Problem
from arrears.logging import get_correlation_id
from arrears.outbox import ACCEPTED, PENDING, OutboxConflict, enqueue_command, queued_command
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from legal_service.api import schemas as s
from legal_service.api.checks import instant_in_window, money_fits_case, required_key
from legal_service.api.deps import ContextDep, IdempotencyKey, Officer, not_found
from legal_service.context import Context
from legal_service.readmodel import repository as repo

router = APIRouter(prefix="/v1/legal/cases", tags=["legal steps (forwarded)"])
Check = Callable[[Context, dict[str, Any], Any], None]
FORWARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a replay: case-service's first answer (Idempotent-Replayed: true)"},
    201: {"description": "case-service recorded it (its answer)"},
    202: {
        "description": "case-service is unavailable: queued, delivered once",
        "model": s.CommandQueued,
    },
    404: {"description": "no such case"},
    409: {"description": "the case's state forbids it (case-service's answer)"},
    422: {"description": "invalid body, or no Idempotency-Key"},
}


def _open(state: dict[str, Any]) -> None:
    if state["status"] != "open":
        raise Problem(409, "Conflict", "the case is closed", field=None)


def check_notice(ctx: Context, state: dict[str, Any], body: s.NoticeCreate) -> None:
    instant_in_window(ctx, body.served_at, "served_at")


def check_lawsuit(ctx: Context, state: dict[str, Any], body: s.LawsuitCreate) -> None:
    instant_in_window(ctx, body.filed_at, "filed_at")
    if body.docket_number in (state.get("lawsuits") or {}):
        raise Problem(409, "Conflict", "this docket number is already used", field="docket_number")


def check_preservation(
    ctx: Context, state: dict[str, Any], body: s.AssetPreservationCreate
) -> None:
    instant_in_window(ctx, body.granted_at, "granted_at")


def check_judgment(ctx: Context, state: dict[str, Any], body: s.JudgmentCreate) -> None:
    instant_in_window(ctx, body.entered_at, "entered_at")
    if body.outcome == "against" and body.awarded_amount != 0:
        raise Problem(
            422,
            "Unprocessable Content",
            "a judgment against the bank awards nothing",
            field="awarded_amount",
        )


def check_enforcement(ctx: Context, state: dict[str, Any], body: s.EnforcementCreate) -> None:
    instant_in_window(ctx, body.started_at, "started_at")


def check_guarantor(ctx: Context, state: dict[str, Any], body: s.GuarantorDemandCreate) -> None:
    instant_in_window(ctx, body.served_at, "served_at")
    if body.guarantor_id not in (state.get("guarantors") or []):
        raise Problem(
            422, "Unprocessable Content", "no such guarantor on this case", field="guarantor_id"
        )


def check_write_off(ctx: Context, state: dict[str, Any], body: s.WriteOffCreate) -> None:
    instant_in_window(ctx, body.written_off_at, "written_off_at")


FORWARDED: tuple[tuple[str, type[BaseModel], Check, str], ...] = (
    ("notices", s.NoticeCreate, check_notice, "Record a demand served (forwarded)"),
    ("lawsuits", s.LawsuitCreate, check_lawsuit, "Record a lawsuit filed (forwarded)"),
    ("asset-preservations", s.AssetPreservationCreate, check_preservation, "Record asset preservation granted (forwarded)"),
    ("judgments", s.JudgmentCreate, check_judgment, "Record a judgment (forwarded)"),
    ("enforcements", s.EnforcementCreate, check_enforcement, "Record enforcement started (forwarded)"),
    ("guarantor-demands", s.GuarantorDemandCreate, check_guarantor, "Record a demand on a guarantor (forwarded)"),
    ("write-offs", s.WriteOffCreate, check_write_off, "Write the case off (forwarded)"),
)  # fmt: skip


async def _state(conn: AsyncConnection, case_id: UUID) -> dict[str, Any]:
    state = await repo.case_state(conn, str(case_id))
    if state is None:
        raise not_found(case_id)
    return state


async def queue(
    conn: AsyncConnection, case_id: UUID, command: str, body: BaseModel, key: str
) -> int:
    """Put the command in the outbox for case-service with the caller's key (the same key
    and body queue nothing new; the same key with another body is 422)."""
    try:
        return await enqueue_command(
            conn,
            case_id=str(case_id),
            command=command,
            body=body.model_dump(mode="json", exclude_none=True),
            idempotency_key=key,
            correlation_id=get_correlation_id(),
        )
    except OutboxConflict as exc:
        raise _key_reused() from exc


async def queued_before(
    conn: AsyncConnection, case_id: UUID, command: str, body: BaseModel, key: str
) -> bool:
    """Whether this key queued this command before (a resend); 422 if with another body."""
    try:
        found = await queued_command(
            conn,
            case_id=str(case_id),
            command=command,
            body=body.model_dump(mode="json", exclude_none=True),
            idempotency_key=key,
        )
    except OutboxConflict as exc:
        raise _key_reused() from exc
    return found is not None


def _key_reused() -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "this Idempotency-Key was already used with a different request",
        field="Idempotency-Key",
    )


async def forward(
    ctx: Context,
    case_id: UUID,
    command: str,
    body: BaseModel,
    check: Check,
    key: str,
    caller: Principal,
) -> JSONResponse:
    async with ctx.engine.begin() as conn:
        state = await _state(conn, case_id)
        # A resend is answered as the first time was, whatever the case's state is now.
        replayed = await queued_before(conn, case_id, command, body, key)
        if not replayed:
            _open(state)
            money_fits_case(state, body)
            check(ctx, state, body)
        command_id = await queue(conn, case_id, command, body, key)
        if "legal" in caller.roles and not replayed:
            await repo.assign(
                conn, str(case_id), ctx.clock.now(), officer=caller.subject, keep=True
            )
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if ctx.forwarder is not None:
        delivery = await ctx.forwarder.deliver_now(command_id)
        if delivery.outcome != PENDING and delivery.status is not None:
            media = "application/json" if delivery.outcome == ACCEPTED else PROBLEM_JSON
            return JSONResponse(
                delivery.body, status_code=delivery.status, media_type=media, headers=headers
            )
        ctx.forwarder.wake()
    queued = s.CommandQueued(
        case_id=case_id, command=command, idempotency_key=key, command_id=command_id
    )
    return JSONResponse(queued.model_dump(mode="json"), status_code=202, headers=headers)


def _route(command: str, body_type: type[BaseModel], check: Check, summary: str) -> None:
    async def endpoint(
        case_id: UUID,
        body: BaseModel,
        ctx: ContextDep,
        caller: Officer,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        key = required_key(idempotency_key)
        return await forward(ctx, case_id, command, body, check, key, caller)

    endpoint.__annotations__["body"] = body_type  # a real class, not the name's string
    endpoint.__name__ = "record_" + command.replace("-", "_")
    router.add_api_route(
        f"/{{case_id}}/{command}",
        endpoint,
        methods=["POST"],
        status_code=201,
        summary=summary,
        responses=FORWARD_RESPONSES,
    )


for _command, _body, _check, _summary in FORWARDED:
    _route(_command, _body, _check, _summary)
