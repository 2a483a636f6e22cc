"""When case-service erases a case's personal data, contact-service keeps none of it either:
no number in clear, none sealed with its own key, no blind index a guess could be checked
against; the attempts, restrictions and decisions keep their facts."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from arrears.clock import ManualClock
from case_service.application import CaseApplication
from case_service.commands import Command
from case_service.erasure import run_erasure
from contact_service import sealing
from contact_service.context import Context
from contact_service.policy import model as m
from sqlalchemy import text

from .conftest import START, token
from .test_outcomes import ATTEMPT, _open, _project_new_events, cases, outbox  # noqa: F401

PHONE = ATTEMPT["contact_point"]
TABLES = ("cs_cases", "cs_contact_points", "cs_attempts", "cs_restrictions", "cs_decisions",
          "command_outbox", "task_outbox")  # fmt: skip


async def _dump(ctx: Context) -> str:
    async with ctx.engine.connect() as conn:
        rows = [str((await conn.execute(text(f"SELECT * FROM {t}"))).all()) for t in TABLES]
    return "\n".join(rows)


def _opened(dump: str) -> list[str | None]:
    return [sealing.unseal(s) for s in re.findall(r"sealed:[A-Za-z0-9+/=]+", dump)]


async def test_after_erasure_contact_service_keeps_no_trace_of_the_number(
    client: Any,
    outbox: Context,  # noqa: F811
    cases: CaseApplication,  # noqa: F811
) -> None:
    case_id = await _open(outbox, cases)
    attempt = await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={**ATTEMPT, "occurred_at": START.isoformat(), "notes": "asked for the spouse"},
        headers={**token(), "Idempotency-Key": "erase-1"},
    )
    assert attempt.status_code == 201, attempt.text
    await _project_new_events(outbox, cases, case_id)
    before = await _dump(outbox)
    assert PHONE.lstrip("+") not in before  # stored sealed and indexed, even before erasure
    assert m.normal_point(PHONE) in _opened(before)
    assert m.point_key(PHONE) in before
    now = cases.clock.now()
    closed = cases.execute(
        Command(
            uuid.UUID(case_id),
            lambda c: c.close(reason="settled", closed_at=now, now=now),
        )
    )
    assert closed.error is None, closed.error
    assert isinstance(cases.clock, ManualClock)
    cases.clock.advance(timedelta(days=5 * 366))
    assert run_erasure(cases).erased == [case_id]

    await _project_new_events(outbox, cases, case_id)

    after = await _dump(outbox)
    assert PHONE.lstrip("+") not in after
    assert m.normal_point(PHONE) not in _opened(after)
    assert m.point_key(PHONE) not in after
    assert "asked for the spouse" not in after
    view = (await client.get(f"/v1/cases/{case_id}/contact-view", headers=token())).json()
    assert {p["contact_point"] for p in view["contact_points"]} == {"[erased]"}
    async with outbox.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT outcome, point_masked FROM cs_attempts"))).all()
    assert [tuple(row) for row in kept] == [("no_answer", "[erased]")]  # the fact stays
