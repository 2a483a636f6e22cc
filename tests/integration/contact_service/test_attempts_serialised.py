"""Two commands to one case are decided one after the other, the second on what the first
wrote: an attempt that waited for the case's lock reads the guard's inputs after it."""

from __future__ import annotations

import asyncio
from typing import Any

from case_service.application import CaseApplication
from contact_service.context import Context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from . import test_outcomes
from .conftest import START, token
from .test_outcomes import ATTEMPT, _open

# test_outcomes' fixtures: a real case-service behind contact-service's command outbox.
cases = test_outcomes.cases
outbox = test_outcomes.outbox


async def _until_a_backend_waits_for_a_lock(engine: AsyncEngine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while True:
        async with engine.connect() as conn:
            if await conn.scalar(waiting):
                return
        await asyncio.sleep(0.01)


async def test_an_attempt_that_waited_for_the_case_decides_on_what_the_holder_wrote(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    body = {**ATTEMPT, "occurred_at": START.isoformat()}
    async with outbox.engine.connect() as holder:
        # Another writer of the case (the projection, another attempt) holds its row and
        # records an opt-out of calls on the borrower's number (a fact in another table).
        await holder.execute(
            text("SELECT 1 FROM cs_cases WHERE case_id = :c FOR UPDATE"), {"c": case_id}
        )
        await holder.execute(
            text("UPDATE cs_contact_points SET opted_out = ARRAY['call'] WHERE case_id = :c"),
            {"c": case_id},
        )
        request = asyncio.create_task(
            client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=token())
        )
        await _until_a_backend_waits_for_a_lock(outbox.engine)
        await holder.commit()
    response = await request

    assert response.status_code == 409, response.text
    assert "opted_out" in [r["code"] for r in response.json()["reasons"]]
