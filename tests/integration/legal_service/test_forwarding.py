"""Legal steps recorded here reach a real case-service once, even when it was away."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
from arrears.clock import SystemClock
from case_service.application import CaseApplication
from case_service.relay import CaseEventEncoder
from legal_service.api.app import create_app
from legal_service.context import Context
from legal_service.settings import LegalServiceSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .case_service_support import NOW, CaseServiceServer, open_case
from .case_service_support import case_service as case_service
from .case_service_support import cases as cases
from .conftest import apply_directly, eventually, token


def lawsuits_recorded(cases: CaseApplication, case_id: str) -> int:
    return sum(type(e).__name__ == "LawsuitFiled" for e in cases.history(UUID(case_id)))


@contextlib.asynccontextmanager
async def legal_api(
    settings: LegalServiceSettings, engine: AsyncEngine, url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """legal-service with its forwarder loop and task publisher running (its lifespan)."""
    app = create_app(
        settings.model_copy(update={"case_service_url": url}),
        clock=SystemClock(),
        engine=engine,
        workers=True,
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://legal") as http:
            yield http


async def test_a_lawsuit_recorded_while_case_service_is_down_reaches_it_once(
    ctx: Context,
    engine: AsyncEngine,
    cases: CaseApplication,
    case_service: CaseServiceServer,
) -> None:
    case_id = open_case(cases)
    envelopes = CaseEventEncoder(cases.mapper).envelopes(
        cases.recorder.select_notifications(start=1, limit=100)
    )
    await apply_directly(ctx, envelopes)
    body = {
        "court": "Beijing Chaoyang District People's Court",
        "docket_number": "(2026)京0105民初123号",
        "claim_amount": "9000.00",
        "currency": "CNY",
        "filed_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    headers = {**token("legal"), "Idempotency-Key": "lawsuit-1"}
    url = f"/v1/legal/cases/{case_id}/lawsuits"
    async with legal_api(ctx.settings, engine, case_service.url) as http:
        queued = await http.post(url, json=body, headers=headers)
        assert queued.status_code == 202, queued.text
        assert queued.json()["status"] == "queued"
        resent = await http.post(url, json=body, headers=headers)  # the officer retries
        assert resent.status_code == 202
        assert resent.json()["command_id"] == queued.json()["command_id"]
        assert lawsuits_recorded(cases, case_id) == 0

        case_service.start()  # case-service returns; the forwarder delivers the lawsuit

        async def delivered() -> bool:
            async with engine.connect() as conn:
                outcome = await conn.scalar(text("SELECT outcome FROM command_outbox"))
            return bool(outcome == "accepted")

        await eventually(delivered, timeout=60)
        assert lawsuits_recorded(cases, case_id) == 1

        # With case-service up, the answer is case-service's own: a resend is replayed...
        replay = await http.post(url, json=body, headers=headers)
        assert replay.status_code in {200, 201}
        assert replay.json()["case_id"] == case_id
        # ...and a second lawsuit while this one is pending is refused by case-service.
        second = await http.post(
            url,
            json={**body, "docket_number": "(2026)京0105民初124号"},
            headers={**token("legal"), "Idempotency-Key": "lawsuit-2"},
        )
        assert second.status_code == 409
        assert second.headers["content-type"].startswith("application/problem+json")
    assert lawsuits_recorded(cases, case_id) == 1
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM command_outbox")) == 2
        # the officer who recorded the first step on an unassigned case took it
        assert await conn.scalar(text("SELECT officer FROM lg_assignments")) == "officer-1"


def costs_recorded(cases: CaseApplication, case_id: str) -> list[Any]:
    return [e for e in cases.history(UUID(case_id)) if type(e).__name__ == "LegalCostIncurred"]


async def test_a_legal_cost_becomes_a_case_fact_once_and_counts_once(
    ctx: Context,
    engine: AsyncEngine,
    cases: CaseApplication,
    case_service: CaseServiceServer,
) -> None:
    case_id = open_case(cases)
    encoder = CaseEventEncoder(cases.mapper)
    await apply_directly(ctx, encoder.envelopes(cases.recorder.select_notifications(1, 100)))
    case_service.start()
    body = {
        "kind": "court_fee",
        "amount": "460.00",
        "incurred_on": (NOW - timedelta(days=2)).date().isoformat(),
        "reference": "(2026)京0105民初123号-fee",
        "description": "acceptance fee",
    }
    headers = {**token("legal"), "Idempotency-Key": "cost-1"}
    url = f"/v1/legal/cases/{case_id}/legal-costs"
    async with legal_api(ctx.settings, engine, case_service.url) as http:
        first = await http.post(url, json=body, headers=headers)
        assert first.status_code == 201, first.text
        assert first.json()["forwarded"] == "accepted"
        resent = await http.post(url, json=body, headers=headers)
        assert resent.status_code == 200
        assert resent.headers["Idempotent-Replayed"] == "true"
        assert len(costs_recorded(cases, case_id)) == 1

        # The same reference with another amount: case-service's refusal is the answer.
        other = await http.post(
            url,
            json={**body, "amount": "470.00"},
            headers={**token("legal"), "Idempotency-Key": "cost-2"},
        )
        assert other.status_code == 409, other.text
        assert other.json()["errors"][0]["field"] == "reference"
        [event] = costs_recorded(cases, case_id)
        assert (event.amount, event.currency, event.kind) == (Decimal("460.00"), "CNY", "court_fee")

        # The case's history comes back through the projection: the cost counts once.
        notifications = cases.recorder.select_notifications(1, 100)
        await apply_directly(ctx, encoder.envelopes(notifications)[-1:])
        legal_file = (await http.get(f"/v1/legal/cases/{case_id}", headers=token())).json()
        assert legal_file["cost_benefit"]["cost_so_far"]["amount"] == "460.00"
        assert [c["reference"] for c in legal_file["legal_costs"]] == [body["reference"]]
    async with httpx.AsyncClient(base_url=case_service.url) as case_http:
        case = await case_http.get(f"/v1/cases/{case_id}", headers=token("auditor"))
    assert case.json()["legal_costs_total"] == "460.00"
