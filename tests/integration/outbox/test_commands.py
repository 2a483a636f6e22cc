"""Commands queued for case-service are delivered once, in order, whatever the interruptions."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
from arrears.outbox import (
    ACCEPTED,
    PENDING,
    REJECTED,
    Backoff,
    CommandForwarder,
    OutboxConflict,
    enqueue_command,
)
from case_service.application import CaseApplication
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import CaseServiceServer, attempt, open_case, service_token

FAST = Backoff(initial=0.0, maximum=0.0)  # tests retry at once instead of waiting


def forwarder(engine: AsyncEngine, server: CaseServiceServer) -> CommandForwarder:
    return CommandForwarder(engine, server.url, service_token, backoff=FAST, timeout_seconds=5)


async def queue(engine: AsyncEngine, case_id: str, key: str, body: dict[str, str]) -> int:
    async with engine.begin() as conn:
        return await enqueue_command(
            conn, case_id=case_id, command="contact-attempts", body=body, idempotency_key=key
        )


def attempts_recorded(cases: CaseApplication, case_id: str) -> int:
    return sum(type(e).__name__ == "ContactAttempted" for e in cases.history(UUID(case_id)))


async def test_a_command_queued_while_case_service_is_down_arrives_once_when_it_returns(
    engine: AsyncEngine, cases: CaseApplication, case_service: CaseServiceServer
) -> None:
    case_id = open_case(cases, "L-OUTBOX-1")
    command_id = await queue(engine, case_id, "attempt-1", attempt(1))
    sender = forwarder(engine, case_service)
    try:
        waiting = await sender.deliver_now(command_id)
        assert waiting.outcome == PENDING
        assert waiting.last_error is not None
        assert await sender.deliver_pending() == 0

        case_service.start()
        assert await sender.deliver_pending() == 1
        assert await sender.deliver_pending() == 0
        delivered = await sender.deliver_now(command_id)
    finally:
        await sender.aclose()

    assert delivered.outcome == ACCEPTED
    assert delivered.status == 201
    assert attempts_recorded(cases, case_id) == 1


async def test_a_resent_request_is_queued_once_and_another_body_is_refused(
    engine: AsyncEngine, cases: CaseApplication
) -> None:
    case_id = open_case(cases, "L-OUTBOX-2")
    first = await queue(engine, case_id, "attempt-1", attempt(1))
    again = await queue(engine, case_id, "attempt-1", attempt(1))
    with pytest.raises(OutboxConflict):
        await queue(engine, case_id, "attempt-1", attempt(2))

    assert again == first
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM command_outbox")) == 1


async def test_a_command_case_service_refuses_is_recorded_as_rejected_not_retried(
    engine: AsyncEngine, cases: CaseApplication, case_service: CaseServiceServer
) -> None:
    case_id = open_case(cases, "L-OUTBOX-3")
    bad = {**attempt(1), "channel": "carrier_pigeon"}
    command_id = await queue(engine, case_id, "attempt-bad", bad)
    case_service.start()
    sender = forwarder(engine, case_service)
    try:
        delivery = await sender.deliver_now(command_id)
        assert await sender.deliver_pending() == 0
    finally:
        await sender.aclose()

    assert delivery.outcome == REJECTED
    assert delivery.status == 422
    assert delivery.body["errors"][0]["field"] == "channel"
    assert attempts_recorded(cases, case_id) == 0


async def test_two_forwarders_deliver_every_command_once_in_order_per_case(
    engine: AsyncEngine, cases: CaseApplication, case_service: CaseServiceServer
) -> None:
    case_ids = [open_case(cases, f"L-OUTBOX-R{n}") for n in range(3)]
    for n in range(12):
        for case_id in case_ids:
            await queue(engine, case_id, f"attempt-{n}", attempt(n))
    case_service.start()
    senders = [forwarder(engine, case_service), forwarder(engine, case_service)]

    async def drain(sender: CommandForwarder) -> int:
        """Deliver until nothing is pending (the other forwarder may hold rows meanwhile)."""
        total = 0
        async with asyncio.timeout(60):
            while True:
                total += await sender.deliver_pending()
                async with engine.connect() as conn:
                    pending = await conn.scalar(
                        text("SELECT count(*) FROM command_outbox WHERE delivered_at IS NULL")
                    )
                if not pending:
                    return total
                await asyncio.sleep(0.01)

    try:
        delivered = await asyncio.gather(*(drain(s) for s in senders))
    finally:
        for sender in senders:
            await sender.aclose()

    assert sum(delivered) == 36
    for case_id in case_ids:
        agents = [
            e.agent_id  # type: ignore[attr-defined]
            for e in cases.history(UUID(case_id))
            if type(e).__name__ == "ContactAttempted"
        ]
        assert agents == [f"agent-{n}" for n in range(12)]
