"""Outcomes recorded here go to case-service through the shared command outbox
(`arrears.outbox`): queued in the same transaction as this service's own bookkeeping (the
pending attempt the guard counts at once), tried at once after the commit, and otherwise
delivered by the background `CommandForwarder` when case-service is back - once, with the
caller's Idempotency-Key, in order per case.
"""

from __future__ import annotations

from typing import Any

from arrears import outbox
from arrears.errors import Problem
from arrears.logging import get_correlation_id
from arrears.outbox import PENDING, Delivery, OutboxConflict, enqueue_command
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.context import Context


def _key_reused() -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "this Idempotency-Key was already used with a different request",
        field="Idempotency-Key",
    )


async def queue_command(
    conn: AsyncConnection, *, case_id: str, command: str, body: dict[str, Any], key: str
) -> int:
    try:
        return await enqueue_command(
            conn,
            case_id=case_id,
            command=command,
            body=body,
            idempotency_key=key,
            correlation_id=get_correlation_id(),
        )
    except OutboxConflict:
        raise _key_reused() from None


async def queued_command(
    conn: AsyncConnection, *, case_id: str, command: str, body: dict[str, Any], key: str
) -> int | None:
    """The id of the command this key already queued (a resend: it is answered as the first
    time, without asking the guard again, whose counts now include it), or None. The same key
    with another body is 422."""
    try:
        return await outbox.queued_command(
            conn, case_id=case_id, command=command, body=body, idempotency_key=key
        )
    except OutboxConflict:
        raise _key_reused() from None


async def deliver(ctx: Context, command_id: int) -> Delivery:
    """Try at once (after the caller's commit); without a forwarder it stays pending."""
    if ctx.forwarder is None:
        return Delivery(command_id, PENDING)
    return await ctx.forwarder.deliver_now(command_id)


def answer(
    delivery: Delivery, pending_body: dict[str, Any], *, replayed: bool = False
) -> JSONResponse:
    """case-service's own answer when it gave one; 202 while the command waits. A resend of
    a queued command says so (Idempotent-Replayed: true)."""
    headers = {"X-Command-Id": str(delivery.command_id)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if delivery.outcome == PENDING or delivery.status is None:
        body = {**pending_body, "command_id": delivery.command_id, "status": "pending"}
        if delivery.last_error:
            body["last_error"] = delivery.last_error
        return JSONResponse(body, status_code=202, headers=headers)
    media = "application/problem+json" if delivery.status >= 400 else "application/json"
    return JSONResponse(
        delivery.body, status_code=delivery.status, headers=headers, media_type=media
    )
