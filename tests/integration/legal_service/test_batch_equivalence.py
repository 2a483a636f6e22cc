"""The batch path (`handle_batch`: the rebuild's and the consumer's) writes exactly the rows and
tasks the per-event path (`handle`) writes, on generated histories: many cases interleaved,
events that change nothing the legal view shows (the batch path checks only a case's last
event and replays the others when that one changed nothing), cases spanning batches (read
back from lg_cases), enough cases opened in one batch to go through the staging copy."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from arrears.messaging import Applier, Envelope
from arrears.messaging.processing import Item
from arrears.messaging.tracking import create_tracking_tables
from legal_service.context import Context
from legal_service.projections.handlers import _COPY_FROM, Projection, reset
from sqlalchemy import text

from .conftest import History, opened

START = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def _event(rng: random.Random, h: History, at: datetime) -> None:
    """One event, often one that changes nothing (a repeated installment, a reminder
    without proof, a reopening of an open case, an event the legal view ignores)."""
    kind = rng.randrange(10)
    day = at.isoformat()
    if kind <= 2:  # few installment numbers and amounts: repeats change nothing
        n = rng.randint(1, 3)
        due = (date(2025, 1, 1) + timedelta(days=31 * n)).isoformat()
        h.add("PaymentMissed", at, installment=n, due_date=due,
              amount=rng.choice(["1200.00", "900.00"]), currency="CNY")  # fmt: skip
    elif kind == 3:
        h.add("ReminderSent", at, delivered_via="sms", served_at=day,
              proof=rng.choice([None, None, "SMS-1"]))  # fmt: skip
    elif kind == 4:
        h.add("PaymentReceived", at, amount="100.00", currency="CNY", paid_at=day,
              promise_id=None, reference=f"R-{rng.randrange(1000)}",
              allocations=[{"installment": 1, "amount": "100.00"}])  # fmt: skip
    elif kind == 5:
        h.add("ContactLost", at, as_of=at.date().isoformat(), numbers_tried=3,
              call_attempts=3, sms_sent=1, times_of_day=["morning"])  # fmt: skip
    elif kind == 6:
        h.add("FieldVisitMade", at, visited_at=day, address="x", agent_id=None, notes=None,
              outcome=rng.choice(["moved_away", "met_borrower", "refused"]))  # fmt: skip
    elif kind == 7:
        h.add(rng.choice(["ContactRegained", "CaseReopened"]), at, channel="call",
              occurred_at=day, reason="back", reopened_at=day)  # fmt: skip
    elif kind == 8:
        h.add("CaseClosed", at, closed_at=day, reason=rng.choice(["cured", "written_off"]))
    else:
        h.add("DisputeRaised", at)  # not folded: the legal view ignores it


def generated(seed: int) -> list[Envelope]:
    """Cases opened and carried on in a random interleaving (each case's own order kept)."""
    rng = random.Random(seed)
    histories = []
    for n in range(_COPY_FROM + 20):
        h = opened(History(f"case-{seed}-{n:03d}"), START,
                   guarantors=[{"id": "G1", "name": "W"}] if n % 2 else None)  # fmt: skip
        for step in range(rng.randint(0, 8)):
            _event(rng, h, START + timedelta(days=step + 1, hours=rng.randrange(24)))
        histories.append(list(h.envelopes))
    out: list[Envelope] = []
    while histories:
        pick = rng.randrange(len(histories))
        out.append(histories[pick].pop(0))
        if not histories[pick]:
            histories.pop(pick)
    return [_renumbered(e, i) for i, e in enumerate(out, start=1)]


def _renumbered(envelope: Envelope, sequence: int) -> Envelope:
    """The feed's global order (each History numbers its own case from 1)."""
    return dataclasses.replace(envelope, sequence=sequence)


async def _applied(
    ctx: Context, consumer: str, batches: list[list[Envelope]], *, batched: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """lg_cases and lg_tasks after applying the batches (one transaction each) from empty."""
    async with ctx.engine.begin() as conn:
        await reset(conn)
        await conn.execute(text("DELETE FROM lg_tasks"))
        await conn.execute(text("DELETE FROM task_outbox"))
    projection = Projection(ctx.policy, ctx.emit)
    applier = Applier(
        consumer,
        projection.handle,
        batch_handler=projection.handle_batch if batched else None,
    )
    for batch in batches:
        items = [Item(e, None, (e.subject or "").encode()) for e in batch]
        async with ctx.engine.begin() as conn:
            outcome = await applier.apply(conn, items, careful=False)
        assert not outcome.parked, outcome.parked
        assert outcome.applied == len(batch)
    async with ctx.engine.connect() as conn:
        cases = (await conn.execute(text("SELECT * FROM lg_cases ORDER BY case_id"))).mappings()
        case_rows = [dict(row) for row in cases]
        tasks = await conn.execute(
            text(
                "SELECT task_id, case_id, task_type, task_key, reason, emitted_at FROM lg_tasks"
                " ORDER BY task_id"
            )
        )
        task_rows = [dict(row) for row in tasks.mappings()]
    return case_rows, task_rows


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_the_batch_path_writes_what_the_per_event_path_writes(
    ctx: Context, seed: int
) -> None:
    await create_tracking_tables(ctx.engine)
    envelopes = generated(seed)
    rng = random.Random(seed)
    batches: list[list[Envelope]] = []
    rest = envelopes
    while rest:  # the first batch opens most cases (the staging copy), then smaller ones
        size = len(envelopes) // 2 if not batches else rng.randint(1, 60)
        batches.append(rest[:size])
        rest = rest[size:]

    per_event = await _applied(ctx, f"per-event-{seed}", batches, batched=False)
    batched = await _applied(ctx, f"batched-{seed}", batches, batched=True)

    assert batched == per_event
    cases, tasks = per_event
    assert len(cases) == _COPY_FROM + 20
    # The histories hold what the check must get right: events after a case's last change
    # (its row's version is below its last event's) and tasks emitted on signal events.
    last_versions: dict[str, int] = {}
    for e in envelopes:
        last_versions[e.subject or ""] = e.caseversion or 0
    assert any(row["version"] < last_versions[row["case_id"]] for row in cases)
    assert tasks, "no generated history emitted a task"
