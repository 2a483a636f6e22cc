"""The consumer's batch path asks case-service for a batch's subject keys in one batch read
(`SubjectKeyClient.prefetch`) instead of a request per new case, and opens the sealed
numbers and addresses to the same read model as the event-at-a-time path."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from arrears.messaging import Applier, Envelope
from case_service.application import CaseApplication
from case_service.relay import CaseEventEncoder
from contact_service.context import Context
from contact_service.projections import Projection
from contact_service.rebuild import reset
from sqlalchemy import text

from ..subject_keys_support import count_single_key_requests
from .test_batch_projection import _snapshot
from .test_outcomes import cases, outbox

__all__ = ["cases", "outbox"]  # the fixtures, used by name


def _open_cases(cases: CaseApplication, count: int) -> list[Envelope]:
    """`count` cases opened in case-service, each with a number and an address (sealed on
    the topic under its own subject key): their events as the relay would publish them."""
    for n in range(count):
        cases.open_case(
            loan_id="L-" + uuid.uuid4().hex[:8],
            product="consumer_loan",
            currency="CNY",
            principal=Decimal("1000.00") * (n + 1),
            borrower={
                "id": f"B-{n}",
                "name": f"Borrower {n}",
                "timezone": "Asia/Shanghai",
                "address": f"{n} Renmin Road",
                "phones": [{"number": f"+86138000000{n:02d}", "kind": "mobile"}],
            },
            guarantors=[],
            collateral=None,
        )
    notifications = cases.recorder.select_notifications(start=1, limit=1000)
    return list(CaseEventEncoder(cases.mapper).envelopes(notifications))


async def _apply(ctx: Context, events: list[Envelope], *, batch: bool) -> list[str]:
    """Apply `events` in one transaction; the single key requests the projection made."""
    assert ctx.keys is not None
    singles = count_single_key_requests(ctx.keys)
    projection = Projection(ctx.book, ctx.profile, ctx.emit, keys=ctx.keys)
    applier = Applier(
        consumer="cs-keys-" + uuid.uuid4().hex[:8],
        handler=projection.handle,
        batch_handler=projection.handle_batch if batch else None,
    )
    try:
        async with ctx.engine.begin() as conn:
            outcome = await applier.apply(
                conn, [applier.prepare(e.to_json(), None) for e in events], careful=False
            )
    finally:
        del ctx.keys.fetch
    assert not outcome.parked, outcome.parked
    assert outcome.applied == len(events)
    return singles


async def test_a_batch_fetches_its_new_cases_keys_at_once_and_opens_them_alike(
    outbox: Context, cases: CaseApplication
) -> None:
    events = _open_cases(cases, 3)
    assert sum(1 for e in events if e.personaldata) == 3

    assert len(await _apply(outbox, events, batch=False)) == 3  # a request per new case
    one_by_one: dict[str, Any] = await _snapshot(outbox)
    assert len(one_by_one["cs_contact_points"]) == 3
    async with outbox.engine.begin() as conn:
        await reset(conn)
        await conn.execute(text("DELETE FROM cs_tasks"))
    assert await _snapshot(outbox) != one_by_one

    assert await _apply(outbox, events, batch=True) == []  # one batch read instead
    assert await _snapshot(outbox) == one_by_one
