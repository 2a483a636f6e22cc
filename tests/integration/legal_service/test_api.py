"""The legal officers' API over HTTP (ASGI), against the real PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, datetime

import httpx
from arrears.clock import ManualClock
from legal_service.api.app import create_app
from legal_service.context import Context
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import History, apply_directly, delinquent_history, opened, token

NOW = datetime(2026, 8, 1, 2, 0).astimezone()


@contextlib.asynccontextmanager
async def client(ctx: Context, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx.settings, clock=ctx.clock, engine=engine, workers=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://legal") as http:
            yield http


def in_court(case_id: str | None = None, court: str = "Chaoyang") -> History:
    h = delinquent_history(case_id, due=date(2025, 1, 10))
    at = datetime(2025, 6, 1, 2, 0).astimezone()
    h.add("LawsuitFiled", at, court=court, docket_number=f"D-{h.case_id[:6]}",
          claim_amount="20000.00", currency="CNY", filed_at=at.isoformat())  # fmt: skip
    return h


async def test_pipeline_filters_by_stage_court_officer_and_amount(
    ctx: Context, engine: AsyncEngine, clock: ManualClock
) -> None:
    clock.set(NOW)
    a, b, quiet = in_court(court="Chaoyang"), in_court(court="Haidian"), delinquent_history()
    await apply_directly(ctx, [*a.envelopes, *b.envelopes, *quiet.envelopes])
    async with client(ctx, engine) as http:
        sup = token("supervisor", "sup-1")
        assigned = await http.put(
            f"/v1/legal/cases/{a.case_id}/officer", json={"officer": "lee"}, headers=sup
        )
        assert assigned.status_code == 204
        reader = token("auditor", "aud-1")
        everything = (await http.get("/v1/legal/pipeline", headers=reader)).json()
        assert {i["case_id"] for i in everything["items"]} == {a.case_id, b.case_id}
        by_court = await http.get("/v1/legal/pipeline?court=Haidian", headers=reader)
        assert [i["case_id"] for i in by_court.json()["items"]] == [b.case_id]
        by_officer = await http.get("/v1/legal/pipeline?officer=lee", headers=reader)
        assert [i["case_id"] for i in by_officer.json()["items"]] == [a.case_id]
        by_stage = await http.get("/v1/legal/pipeline?stage=lawsuit_filed&limit=1", headers=reader)
        page = by_stage.json()
        assert len(page["items"]) == 1
        assert page["items"][0]["claim_amount"] == {"amount": "20000.00", "currency": "CNY"}
        rest = await http.get(
            f"/v1/legal/pipeline?stage=lawsuit_filed&cursor={page['next_cursor']}", headers=reader
        )
        assert len(rest.json()["items"]) == 1
        none = await http.get("/v1/legal/pipeline?min_amount=20000.01", headers=reader)
        assert none.json()["items"] == []
        bad = await http.get("/v1/legal/pipeline?min_amount=12.34567", headers=reader)
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["field"] == "min_amount"


async def test_limitation_report(ctx: Context, engine: AsyncEngine, clock: ManualClock) -> None:
    soon = delinquent_history(due=date(2023, 11, 1))  # expires 2026-11-06 (the promise)
    later = delinquent_history(due=date(2024, 3, 1))  # 2027-03-06
    gone = delinquent_history(due=date(2023, 6, 1))  # 2026-06-06: expired
    await apply_directly(ctx, [*soon.envelopes, *later.envelopes, *gone.envelopes])
    clock.set(NOW)
    async with client(ctx, engine) as http:
        report = await http.get(
            "/v1/legal/limitations?expiring_within=180d", headers=token("legal")
        )
        assert report.status_code == 200
        body = report.json()
        assert [i["case_id"] for i in body["items"]] == [gone.case_id, soon.case_id]
        assert body["items"][0]["expired"] is True
        assert body["items"][1]["limitation_expires_on"] == "2026-11-06"
        assert body["items"][1]["days_left"] == 97
        assert body["total"] == 2
        wrong = await http.get("/v1/legal/limitations?expiring_within=soon", headers=token())
        assert wrong.status_code == 422
        assert wrong.json()["errors"][0]["field"] == "expiring_within"


async def test_the_legal_file_of_a_case(
    ctx: Context, engine: AsyncEngine, clock: ManualClock
) -> None:
    h = delinquent_history(due=date(2026, 1, 10))
    await apply_directly(ctx, h.envelopes)
    clock.set(NOW)
    async with client(ctx, engine) as http:
        cost = {"kind": "lawyer_fee", "amount": "1500.00", "incurred_on": "2026-07-01"}
        url = f"/v1/legal/cases/{h.case_id}"
        key = {"Idempotency-Key": "cost-1"}
        first = await http.post(f"{url}/legal-costs", json=cost, headers={**token(), **key})
        again = await http.post(f"{url}/legal-costs", json=cost, headers={**token(), **key})
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["record_id"] == again.json()["record_id"]
        assert first.json()["forwarded"] == "queued"  # no case-service in this test
        queued = (await http.get(url, headers=token("auditor"))).json()
        assert queued["cost_benefit"]["cost_so_far"]["amount"] == "0.00"  # not a case fact yet
        # case-service records it (its event is authoritative; the local row is not added)
        h.add("LegalCostIncurred", NOW, kind="lawyer_fee", amount="1500.00", currency="CNY",
              incurred_on="2026-07-01", reference=None, description=None)  # fmt: skip
        await apply_directly(ctx, h.envelopes[-1:])
        floaty = await http.post(
            f"{url}/legal-costs", json={**cost, "amount": 1500.0}, headers={**token(), **key}
        )
        assert floaty.status_code == 422
        assert floaty.json()["errors"][0]["field"] == "amount"

        file = (await http.get(url, headers=token("auditor"))).json()
        assert file["stage"] == "none"
        assert file["days_past_due"] == 203
        assert file["limitation"]["expires_on"] == "2029-01-15"
        assert [i["counts"] for i in file["limitation"]["interruptions"]] == [True, False]
        assert file["effective_collection"]["evidenced"] is True  # day 20 and day 60
        assert file["cost_benefit"]["cost_so_far"] == {"amount": "1500.00", "currency": "CNY"}
        assert file["legal_costs"] == [
            {"kind": "lawyer_fee", "amount": "1500.00", "currency": "CNY",
             "incurred_on": "2026-07-01", "reference": None}
        ]  # fmt: skip
        assert {r["kind"] for r in file["recommendations"]} == {
            "ReferToLegal",
            "DemandFromGuarantor",
        }
        missing = "00000000-0000-4000-8000-000000000000"
        assert (await http.get(f"/v1/legal/cases/{missing}", headers=token())).status_code == 404


async def test_roles_and_keys(ctx: Context, engine: AsyncEngine) -> None:
    h = opened(History(), datetime(2026, 1, 1).astimezone())
    await apply_directly(ctx, h.envelopes)
    async with client(ctx, engine) as http:
        url = f"/v1/legal/cases/{h.case_id}/lawsuits"
        body = {
            "court": "Chaoyang",
            "docket_number": "D-1",
            "claim_amount": "1000.00",
            "filed_at": "2026-10-01T00:00:00Z",
        }
        assert (await http.post(url, json=body)).status_code == 401
        assert (await http.post(url, json=body, headers=token("collector"))).status_code == 403
        assert (await http.post(url, json=body, headers=token("auditor"))).status_code == 403
        no_key = await http.post(url, json=body, headers=token("legal"))
        assert no_key.status_code == 422
        assert no_key.json()["errors"][0]["field"] == "Idempotency-Key"
        usd = await http.post(
            url, json={**body, "currency": "USD"}, headers={**token(), "Idempotency-Key": "k"}
        )
        assert usd.status_code == 422
        assert usd.json()["errors"][0]["field"] == "currency"
        unknown = await http.post(
            url.replace(h.case_id, "00000000-0000-4000-8000-000000000000"),
            json=body,
            headers={**token(), "Idempotency-Key": "k"},
        )
        assert unknown.status_code == 404
        daily = await http.post("/v1/daily-runs", headers=token("legal"))
        assert daily.status_code == 403
        assert (await http.post("/v1/daily-runs", headers=token("service"))).status_code == 201
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/metrics")).status_code == 200


async def test_an_enforcement_that_found_nothing_recommends_write_off_at_once(
    ctx: Context, engine: AsyncEngine, clock: ManualClock
) -> None:
    h = in_court()
    judged = datetime(2025, 9, 1, 2, 0).astimezone()
    h.add("JudgmentEntered", judged, docket_number=f"D-{h.case_id[:6]}", outcome="in_favour",
          awarded_amount="20000.00", currency="CNY", entered_at=judged.isoformat())  # fmt: skip
    plain = delinquent_history(due=date(2026, 5, 1))
    await apply_directly(ctx, [*h.envelopes, *plain.envelopes])
    clock.set(NOW)
    async with client(ctx, engine) as http:
        url = f"/v1/legal/cases/{h.case_id}/enforcement-outcomes"
        outcome = {
            "enforcement_ref": "E-1",
            "outcome": "no_assets_found",
            "recovered_amount": "0.00",
            "ended_on": "2026-07-01",
        }
        early = await http.post(url, json=outcome, headers={**token(), "Idempotency-Key": "o"})
        assert early.status_code == 409  # no enforcement has started yet
        started = datetime(2025, 10, 1, 2, 0).astimezone()
        await apply_directly(ctx, [h.add("EnforcementStarted", started, enforcement_ref="E-1",
                                         docket_number=f"D-{h.case_id[:6]}",
                                         started_at=started.isoformat()).envelopes[-1]])  # fmt: skip
        done = await http.post(url, json=outcome, headers={**token(), "Idempotency-Key": "o"})
        assert done.status_code == 201
        file = (await http.get(f"/v1/legal/cases/{h.case_id}", headers=token())).json()
        assert [t["task_type"] for t in file["tasks"]] == ["RecommendWriteOff"]
        assert file["cost_benefit"]["worth_pursuing"] is False

        signal = {"kind": "deceased", "noted_on": "2026-07-20", "source": "obituary"}
        noted = await http.post(
            f"/v1/legal/cases/{plain.case_id}/signals",
            json=signal,
            headers={**token(), "Idempotency-Key": "s"},
        )
        assert noted.status_code == 201
        other = (await http.get(f"/v1/legal/cases/{plain.case_id}", headers=token())).json()
        assert [t["task_type"] for t in other["tasks"]] == ["ApplyForAssetPreservation"]
        assert other["signals"] == ["deceased"]
