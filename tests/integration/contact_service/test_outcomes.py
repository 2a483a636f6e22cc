"""Recording outcomes: guard first, then the command outbox to a real case-service (its app
on its own PostgreSQL database); forbidden contacts never leave, the rest arrive once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from arrears.clock import ManualClock
from arrears.messaging.personal import SubjectKeyClient
from arrears.outbox import ACCEPTED, CommandForwarder, Delivery, create_outbox_tables
from arrears_dev.embedded.postgres import create_database, drop_database, with_database
from case_service.api.app import create_app as create_case_app
from case_service.application import CaseApplication
from case_service.relay import CaseEventEncoder
from case_service.settings import CaseServiceSettings
from contact_service import sealing
from contact_service.caseclient import Answer
from contact_service.context import Context
from contact_service.forwarding import CommandSender, Outcomes
from contact_service.wiring import task_emitter
from eventsourcing.cipher import AESCipher
from sqlalchemy import text

from ..subject_keys_support import count_single_key_requests
from .conftest import JWT_SECRET, START, Story, seed, token

ATTEMPT = {
    "channel": "call",
    "party": "borrower",
    "contact_point": "+8613800000001",
    "outcome": "no_answer",
}


@pytest.fixture
def cases(postgres_url_base: str, clock: ManualClock) -> Iterator[CaseApplication]:
    name = "t_case_" + uuid.uuid4().hex
    create_database(postgres_url_base, name)
    settings = CaseServiceSettings(
        database_url=with_database(postgres_url_base, name),
        jwt_secret=JWT_SECRET,
        cipher_key=AESCipher.create_key(num_bytes=32),
        db_pool_size=4,
    )
    application = CaseApplication(settings, clock=clock)
    yield application
    application.close()
    drop_database(postgres_url_base, name)


def _case_transport(cases: CaseApplication) -> httpx.ASGITransport:
    app = create_case_app(cases.settings, application=cases)
    app.state.cases = cases  # the ASGI transport runs no lifespan
    return httpx.ASGITransport(app=app)


class AppPoster:
    """The sender's client with case-service's app behind it (in this process)."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._http = httpx.AsyncClient(transport=transport, base_url="http://case-service")

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        headers = {**headers, "Content-Type": "application/json"}
        response = await self._http.post(path, content=body, headers=headers)
        return Answer(response.status_code, response.content, response.headers["content-type"])

    async def aclose(self) -> None:
        await self._http.aclose()


def _service_token() -> str:
    return token("service")["Authorization"].removeprefix("Bearer ")


@pytest.fixture
async def outbox(ctx: Context, cases: CaseApplication) -> AsyncIterator[Context]:
    """contact-service with the shared outbox, forwarding to the real case-service app."""
    await create_outbox_tables(ctx.engine)
    ctx.emit = task_emitter(ctx)
    ctx.forwarder = CommandForwarder(
        ctx.engine,
        "http://case-service",
        lambda: token("service")["Authorization"].removeprefix("Bearer "),
        transport=_case_transport(cases),
        open_body=sealing.unseal_tree,  # as the service wires it: numbers wait sealed
    )
    # The request that queues a command sends it at once (the lean path).
    ctx.sender = CommandSender(
        "http://case-service",
        _service_token,
        wake=ctx.forwarder.wake,
        client=AppPoster(_case_transport(cases)),
    )
    # Numbers arrive sealed; the projection opens them with keys from case-service.
    ctx.keys = SubjectKeyClient(
        "http://case-service",
        lambda: token("service")["Authorization"].removeprefix("Bearer "),
        transport=_case_transport(cases),
    )
    yield ctx
    await ctx.forwarder.aclose()
    await ctx.sender.aclose()
    ctx.sender = None
    await ctx.keys.aclose()
    ctx.keys = None


async def _project_new_events(ctx: Context, cases: CaseApplication, case_id: str) -> None:
    """Apply the case's events through the projection (those applied before are skipped)."""
    notifications = cases.recorder.select_notifications(start=1, limit=1000)
    story = Story.__new__(Story)
    story.events = [
        e for e in CaseEventEncoder(cases.mapper).envelopes(notifications) if e.subject == case_id
    ]
    await seed(ctx, [story])


async def _open(ctx: Context, cases: CaseApplication) -> str:
    """A delinquent case in case-service, projected into contact-service."""
    case, _ = cases.open_case(
        loan_id="L-" + uuid.uuid4().hex[:8],
        product="consumer_loan",
        currency="CNY",
        principal=Decimal("100000.00"),
        borrower={
            "id": "B-1",
            "name": "Li Wei",
            "timezone": "Asia/Shanghai",
            "address": "1 Renmin Road",
            "phones": [{"number": "+8613800000001", "kind": "mobile", "owner": "borrower"}],
        },
        guarantors=[],
        collateral=None,
    )
    await _project_new_events(ctx, cases, str(case.id))
    return str(case.id)


def _events(cases: CaseApplication, case_id: str) -> list[str]:
    """The names of the case's stored events (what case-service recorded)."""
    return [
        n.topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        for n in cases.recorder.select_notifications(start=1, limit=10_000)
        if str(n.originator_id) == case_id
    ]


async def _outbox_rows(ctx: Context) -> int:
    async with ctx.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT count(*) FROM command_outbox")) or 0)


async def test_an_allowed_attempt_reaches_case_service_once(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    body = {**ATTEMPT, "occurred_at": START.isoformat()}
    headers = {**token(), "Idempotency-Key": "attempt-1"}
    first = await client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["events"] == ["ContactAttempted"]
    again = await client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=headers)
    assert again.status_code in (200, 201), again.text
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _events(cases, case_id).count("ContactAttempted") == 1
    assert await _outbox_rows(outbox) == 1
    # Counted by the guard at once, before its event comes back.
    view = await client.get(f"/v1/cases/{case_id}/contact-view", headers=token())
    assert [a["outcome"] for a in view.json()["recent_attempts"]] == ["no_answer"]
    # Its ContactAttempted comes back through the projection: still one attempt.
    await _project_new_events(outbox, cases, case_id)
    view = await client.get(f"/v1/cases/{case_id}/contact-view", headers=token())
    assert [a["outcome"] for a in view.json()["recent_attempts"]] == ["no_answer"]


async def _delivery_row(ctx: Context, command_id: int) -> tuple[Any, ...]:
    async with ctx.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT outcome, status, delivered_at IS NOT NULL FROM command_outbox"
                    " WHERE id = :id"
                ),
                {"id": command_id},
            )
        ).one()
    return tuple(row)


async def test_an_answer_not_yet_written_is_answered_from_memory_then_written(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    """case-service's answers are written a moment later, together: meanwhile a resend, the
    command's status and the next command to the case go as if it were written."""
    assert outbox.sender is not None
    outbox.sender.outcomes = Outcomes(delay=3600.0)  # written only when the test says
    case_id = await _open(outbox, cases)
    body = {**ATTEMPT, "occurred_at": START.isoformat()}
    headers = {**token(), "Idempotency-Key": "later-1"}
    first = await client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=headers)
    assert first.status_code == 201, first.text
    command_id = int(first.headers["X-Command-Id"])
    assert await _delivery_row(outbox, command_id) == (None, None, False)
    again = await client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    status = await client.get(f"/v1/commands/{command_id}", headers=token())
    assert (status.json()["outcome"], status.json()["status"]) == ("accepted", 201)
    # The next attempt to the case is not held behind the first: it is sent at once.
    later = {**body, "outcome": "busy", "occurred_at": (START + timedelta(minutes=1)).isoformat()}
    second = await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json=later,
        headers={**token(), "Idempotency-Key": "later-2"},
    )
    assert second.status_code == 201, second.text
    assert _events(cases, case_id).count("ContactAttempted") == 2
    await outbox.sender.outcomes.flush()
    assert await _delivery_row(outbox, command_id) == ("accepted", 201, True)
    assert outbox.sender.outcomes.get(command_id) is None
    status = await client.get(f"/v1/commands/{command_id}", headers=token())
    assert (status.json()["outcome"], status.json()["status"]) == ("accepted", 201)


class _Overlapping:
    """A real pool that counts how many of its statements run at once."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.running = self.most = 0

    async def execute(self, *args: Any) -> Any:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            return await self._pool.execute(*args)
        finally:
            self.running -= 1


async def test_two_writes_of_the_held_answers_take_turns(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    """The timer's write of the held answers and a request's (its command waiting behind one
    of them) once ran together on the same rows: PostgreSQL found a deadlock and failed the
    request with a 500. The second write now waits for the first, then writes what is left."""
    assert outbox.sender is not None
    outbox.sender.outcomes = Outcomes(delay=3600.0)  # the test writes them
    case_id = await _open(outbox, cases)
    ids = []
    for n in range(3):
        at = (START + timedelta(minutes=n)).isoformat()
        response = await client.post(
            f"/v1/cases/{case_id}/contact-attempts",
            json={**ATTEMPT, "occurred_at": at},
            headers={**token(), "Idempotency-Key": f"turns-{n}"},
        )
        assert response.status_code == 201, response.text
        ids.append(int(response.headers["X-Command-Id"]))
    pool = _Overlapping(await outbox.read_pool.get())
    answers = Outcomes(delay=3600.0)
    for command_id in ids:
        answers.note(pool, Delivery(command_id, ACCEPTED, 201, {"n": command_id}), "{}")

    await asyncio.gather(answers.flush(), answers.flush(wake_after_next=True))

    assert pool.most == 1
    assert [await _delivery_row(outbox, i) for i in ids] == [("accepted", 201, True)] * 3
    assert answers.ids() == []
    await answers.aclose()


async def test_a_forbidden_contact_is_refused_and_never_forwarded(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    assert isinstance(outbox.clock, ManualClock)
    outbox.clock.advance(timedelta(hours=13))  # 23:00 in Shanghai
    late = (START + timedelta(hours=13)).isoformat()
    response = await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={**ATTEMPT, "occurred_at": late},
        headers={**token(), "Idempotency-Key": "late-1"},
    )
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [r["code"] for r in response.json()["reasons"]] == ["outside_hours"]
    assert await _outbox_rows(outbox) == 0
    assert "ContactAttempted" not in _events(cases, case_id)
    # The borrower calling us at that hour is recorded.
    inbound = await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={
            **ATTEMPT,
            "outcome": "right_party_contact",
            "recording_ref": "rec-9",
            "occurred_at": late,
            "direction": "inbound",
        },
        headers={**token(), "Idempotency-Key": "inbound-1"},
    )
    assert inbound.status_code == 201, inbound.text


async def test_the_fourth_connected_call_of_the_day_is_refused(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    for n in range(4):
        response = await client.post(
            f"/v1/cases/{case_id}/contact-attempts",
            json={
                **ATTEMPT,
                "outcome": "right_party_contact",
                "recording_ref": f"rec-{n}",
                "occurred_at": (START - timedelta(minutes=10 - n)).isoformat(),
            },
            headers={**token(), "Idempotency-Key": f"call-{n}"},
        )
        assert response.status_code == (201 if n < 3 else 409), response.text
    assert _events(cases, case_id).count("ContactAttempted") == 3


async def test_while_case_service_is_away_the_command_waits_and_arrives_once(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    working, sending = outbox.forwarder, outbox.sender
    assert working is not None
    outbox.forwarder = CommandForwarder(
        outbox.engine, "http://127.0.0.1:9", lambda: "unused", timeout_seconds=1.0
    )  # nothing listens there
    outbox.sender = CommandSender("http://127.0.0.1:9", lambda: "unused", timeout_seconds=1.0)
    body = {**ATTEMPT, "occurred_at": START.isoformat()}
    headers = {**token(), "Idempotency-Key": "away-1"}
    try:
        queued = await client.post(
            f"/v1/cases/{case_id}/contact-attempts", json=body, headers=headers
        )
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "pending"
        resent = await client.post(
            f"/v1/cases/{case_id}/contact-attempts", json=body, headers=headers
        )
        assert resent.json()["command_id"] == queued.json()["command_id"]
        assert resent.headers["Idempotent-Replayed"] == "true"
        other = {**body, "outcome": "busy"}
        conflict = await client.post(
            f"/v1/cases/{case_id}/contact-attempts", json=other, headers=headers
        )
        assert conflict.status_code == 422
        assert conflict.json()["errors"][0]["field"] == "Idempotency-Key"
    finally:
        await outbox.forwarder.aclose()
        await outbox.sender.aclose()
        outbox.forwarder, outbox.sender = working, sending
    assert "ContactAttempted" not in _events(cases, case_id)
    # case-service is back: the forwarder delivers it (the retry is due at once in the test).
    async with outbox.engine.begin() as conn:
        await conn.execute(text("UPDATE command_outbox SET next_attempt_at = now()"))
    assert await working.deliver_pending() == 1
    assert await working.deliver_pending() == 0
    assert _events(cases, case_id).count("ContactAttempted") == 1
    status = await client.get(f"/v1/commands/{queued.json()['command_id']}", headers=token())
    assert status.json()["outcome"] == "accepted"


async def test_a_promise_is_forwarded_unless_contact_is_barred(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    promise = {"amount": "600.00", "promised_date": (START + timedelta(days=5)).date().isoformat()}
    made = await client.post(
        f"/v1/cases/{case_id}/promises",
        json=promise,
        headers={**token(), "Idempotency-Key": "promise-1"},
    )
    assert made.status_code == 201, made.text
    assert "PromiseToPayMade" in _events(cases, case_id)
    restrict = {"kind": "do_not_contact"}
    await client.post(f"/v1/cases/{case_id}/contact-restrictions", json=restrict, headers=token())
    barred = await client.post(
        f"/v1/cases/{case_id}/promises",
        json=promise,
        headers={**token(), "Idempotency-Key": "promise-2"},
    )
    assert barred.status_code == 409
    assert [r["code"] for r in barred.json()["reasons"]] == ["do_not_contact"]


async def test_a_rejected_attempt_stops_counting(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    # case-service refuses an attempt in the future; the guard must not count it afterwards.
    future = (START + timedelta(hours=1)).isoformat()
    rejected = await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={**ATTEMPT, "occurred_at": future},
        headers={**token(), "Idempotency-Key": "future-1"},
    )
    assert rejected.status_code == 422, rejected.text
    view = await client.get(f"/v1/cases/{case_id}/contact-view", headers=token())
    assert view.json()["recent_attempts"] == []


async def test_a_rebuild_from_the_feed_gives_the_same_view_and_keeps_restrictions(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    from arrears.messaging import FeedClient
    from contact_service.rebuild import rebuild_read_models

    case_id = await _open(outbox, cases)
    await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json={**ATTEMPT, "occurred_at": START.isoformat()},
        headers={**token(), "Idempotency-Key": "r-1"},
    )
    await _project_new_events(outbox, cases, case_id)
    url = f"/v1/cases/{case_id}/contact-restrictions"
    await client.post(url, json={"kind": "do_not_contact"}, headers=token())
    await client.post(url, json={"kind": "opt_out", "channel": "sms"}, headers=token())
    before = (await client.get(f"/v1/cases/{case_id}/contact-view", headers=token())).json()
    feed = FeedClient(
        "http://case-service",
        token("service")["Authorization"].removeprefix("Bearer "),
        transport=_case_transport(cases),
    )
    # The rebuild asks case-service for a page's subject keys in one batch read, not a
    # request per new case: with the cache emptied, the projection asks for none itself.
    assert outbox.keys is not None
    singles = count_single_key_requests(outbox.keys)
    try:
        report = await rebuild_read_models(outbox, feed)
    finally:
        await feed.aclose()
    assert singles == []
    assert report.events == report.applied >= 2
    after = (await client.get(f"/v1/cases/{case_id}/contact-view", headers=token())).json()
    assert after == before
    assert after["flags"] == ["do_not_contact"]
    assert after["opted_out_channels"] == ["sms"]


async def test_without_a_key_an_identical_resend_is_still_recorded_once(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    body = {**ATTEMPT, "occurred_at": START.isoformat()}
    first = await client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=token())
    second = await client.post(f"/v1/cases/{case_id}/contact-attempts", json=body, headers=token())
    assert first.status_code == 201, first.text
    assert second.status_code in (200, 201), second.text
    assert _events(cases, case_id).count("ContactAttempted") == 1
    blank = await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json=body,
        headers={**token(), "Idempotency-Key": " "},
    )
    assert blank.status_code == 422
