"""Nothing wrong gets into legal-service's record (issue 15): every class of wrong input is a
422 (or 401/413/415) problem naming the field, and legal-service's tables, its command outbox
and its task outbox are exactly as they were."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from arrears.auth import EMBEDDED_AUDIENCE, EMBEDDED_ISSUER
from legal_service.api.app import create_app
from legal_service.context import Context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import JWT_SECRET, START, History, apply_directly, token

# Everything legal-service writes: its own tables and both outboxes.
RECORD_TABLES = (
    "lg_cases",
    "lg_assignments",
    "lg_costs",
    "lg_enforcement_outcomes",
    "lg_signals",
    "lg_tasks",
    "command_outbox",
    "task_outbox",
)
COST = {"kind": "court_fee", "amount": "1500.00", "incurred_on": "2026-10-01"}
LAWSUIT = {
    "court": "Beijing Chaoyang District People's Court",
    "docket_number": "(2026)京0105民初123号",
    "claim_amount": "9000.00",
    "filed_at": "2026-10-01T09:30:00+08:00",
}


async def record(engine: AsyncEngine) -> dict[str, Any]:
    """A fingerprint of every row legal-service keeps (of the command outbox: what was
    queued, not the bookkeeping of delivery attempts)."""
    out: dict[str, Any] = {}
    async with engine.connect() as conn:
        for table in RECORD_TABLES:
            rows = (
                "(SELECT id, case_id, command, idempotency_key, body FROM command_outbox)"
                if table == "command_outbox"
                else table
            )
            fingerprint = "md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
            out[table] = await conn.scalar(text(f"SELECT {fingerprint} FROM {rows} t"))
    return out


@pytest.fixture
async def http(ctx: Context, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx.settings, clock=ctx.clock, engine=engine, workers=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://legal") as client:
            yield client


async def a_case(ctx: Context, currency: str = "CNY") -> str:
    h = History()
    h.add("CaseOpened", START - timedelta(days=400), loan_id="L-" + h.case_id[:8],
          product="consumer_loan", currency=currency, principal="100000",
          borrower={"id": "B-1", "name": "Li Wei", "timezone": "Asia/Shanghai"},
          guarantors=[], collateral=None, rules={"limitation_years": 3})  # fmt: skip
    await apply_directly(ctx, h.envelopes)
    return h.case_id


@contextlib.asynccontextmanager
async def unchanged(engine: AsyncEngine) -> AsyncIterator[None]:
    before = await record(engine)
    yield
    assert await record(engine) == before, "a refused request changed the record"


def keyed(key: str = "k-1", role: str = "legal") -> dict[str, str]:
    return {**token(role), "Idempotency-Key": key}


def refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


@pytest.mark.parametrize(
    "amount",
    ["1e5", " 10.00 ", "10.00 ", "１０.00", "1_000.00", "+10.00", "-10.00", "0", "0.00",
     "10.", ".5", "10.001", "NaN", "Infinity", "1234567890123456.00", 1500, 1500.0, True, None],
)  # fmt: skip
async def test_money_outside_the_grammar_is_refused_and_records_nothing(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient, amount: Any
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        cost = await http.post(
            f"/v1/legal/cases/{case_id}/legal-costs",
            json={**COST, "amount": amount},
            headers=keyed(),
        )
        refused(cost, "amount")
        suit = await http.post(
            f"/v1/legal/cases/{case_id}/lawsuits",
            json={**LAWSUIT, "claim_amount": amount},
            headers=keyed(),
        )
        refused(suit, "claim_amount")


async def test_money_has_at_most_the_cases_currencys_decimals(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    yen = await a_case(ctx, "JPY")
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{yen}/legal-costs",
                json={**COST, "amount": "1500.50"},
                headers=keyed(),
            ),
            "amount",
        )
    ok = await http.post(
        f"/v1/legal/cases/{yen}/legal-costs", json={**COST, "amount": "1500"}, headers=keyed()
    )
    assert ok.status_code == 201, ok.text
    dinar = await a_case(ctx, "KWD")  # 3 decimals, but kept to 2 here: refused, not rounded
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{dinar}/legal-costs",
                json={**COST, "amount": "10.125"},
                headers=keyed(),
            ),
            "amount",
        )


@pytest.mark.parametrize("currency", ["XXX", "XAU", "ABC", "cny", "CN", 156, "USD"])
async def test_a_currency_that_is_not_the_cases_iso_4217_code_is_refused(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient, currency: Any
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{case_id}/legal-costs",
                json={**COST, "currency": currency},
                headers=keyed(),
            ),
            "currency",
        )


@pytest.mark.parametrize(
    "filed_at",
    [
        "0001-01-01T00:00:00.0+00:01",  # below year 1 in UTC: was a 500
        "0001-01-01T00:00:00Z",
        "1900-01-01T00:00:00Z",
        "2015-01-01T00:00:00Z",  # more than ten years before the clock
        "2026-11-02T03:00:00Z",  # an hour after the clock
        "9999-12-31T23:59:59Z",
        "2026-10-01T09:30:00",  # no offset
        "2026-10-01",
        "2026-10-01 09:30:00Z",
        "2026-02-30T09:30:00Z",
        1796000000,
        True,
    ],
)
async def test_absurd_event_times_are_refused(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient, filed_at: Any
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{case_id}/lawsuits",
                json={**LAWSUIT, "filed_at": filed_at},
                headers=keyed(),
            ),
            "filed_at",
        )


@pytest.mark.parametrize(
    "day",
    ["1900-01-01", "2015-06-01", "2026-11-03", "2999-12-31", "20261001", "2026-W40-1", 20261001],
)
async def test_absurd_business_dates_are_refused(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient, day: Any
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{case_id}/legal-costs",
                json={**COST, "incurred_on": day},
                headers=keyed(),
            ),
            "incurred_on",
        )
        refused(
            await http.post(
                f"/v1/legal/cases/{case_id}/signals",
                json={"kind": "vanished", "noted_on": day},
                headers=keyed(),
            ),
            "noted_on",
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("court", "Chaoyang\x00"),
        ("court", "Chaoyang\x1b[31m"),
        ("court", "Chaoyang\x07"),
        ("court", "Chao\nyang"),
        ("court", "Chaoyang\x85"),
        ("court", "   "),
        ("court", "x" * 501),
        ("docket_number", "D-1\x00"),
        ("docket_number", "x" * 101),
        ("docket_number", 123),
    ],
)
async def test_control_characters_and_overlong_texts_are_refused(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient, field: str, value: Any
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{case_id}/lawsuits",
                json={**LAWSUIT, field: value},
                headers=keyed(),
            ),
            field,
        )


async def test_a_note_keeps_newlines_and_tabs_but_no_other_control_character(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    case_id = await a_case(ctx)
    url = f"/v1/legal/cases/{case_id}/legal-costs"
    async with unchanged(engine):
        refused(
            await http.post(url, json={**COST, "description": "a\x00b"}, headers=keyed("n1")),
            "description",
        )
        refused(
            await http.post(url, json={**COST, "reference": "a\tb"}, headers=keyed("n1")),
            "reference",
        )
    kept = await http.post(
        url, json={**COST, "description": "line one\n\tline two"}, headers=keyed("n2")
    )
    assert kept.status_code == 201, kept.text


async def test_unknown_fields_are_refused(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        refused(
            await http.post(
                f"/v1/legal/cases/{case_id}/legal-costs",
                json={**COST, "approved": True},
                headers=keyed(),
            ),
            "approved",
        )
        refused(
            await http.put(
                f"/v1/legal/cases/{case_id}/officer",
                json={"officer": "lee", "admin": True},
                headers=token("supervisor"),
            ),
            "admin",
        )


async def test_the_same_key_with_another_amount_is_refused_and_a_replay_says_so(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    case_id = await a_case(ctx)
    url = f"/v1/legal/cases/{case_id}/legal-costs"
    first = await http.post(url, json=COST, headers=keyed("cost-1"))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    async with unchanged(engine):
        again = await http.post(url, json=COST, headers=keyed("cost-1"))
        assert again.status_code == 200
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["record_id"] == first.json()["record_id"]
        for other in ({"amount": "1600.00"}, {"kind": "lawyer_fee"}, {"reference": "R-2"}):
            refused(await http.post(url, json={**COST, **other}, headers=keyed("cost-1")),
                    "Idempotency-Key")  # fmt: skip
    signal = {"kind": "vanished", "noted_on": "2026-10-01"}
    signals = f"/v1/legal/cases/{case_id}/signals"
    assert (await http.post(signals, json=signal, headers=keyed("s-1"))).status_code == 201
    async with unchanged(engine):
        replay = await http.post(signals, json=signal, headers=keyed("s-1"))
        assert replay.headers["Idempotent-Replayed"] == "true"
        refused(
            await http.post(signals, json={**signal, "kind": "deceased"}, headers=keyed("s-1")),
            "Idempotency-Key",
        )


async def test_a_forwarded_step_resent_says_it_is_a_replay(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    case_id = await a_case(ctx)
    url = f"/v1/legal/cases/{case_id}/lawsuits"
    queued = await http.post(url, json=LAWSUIT, headers=keyed("suit-1"))
    assert queued.status_code == 202, queued.text  # case-service is not there
    assert "Idempotent-Replayed" not in queued.headers
    async with unchanged(engine):
        again = await http.post(url, json=LAWSUIT, headers=keyed("suit-1"))
        assert again.status_code == 202
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["command_id"] == queued.json()["command_id"]
        other = {**LAWSUIT, "claim_amount": "9500.00"}
        refused(await http.post(url, json=other, headers=keyed("suit-1")), "Idempotency-Key")


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/legal/pipeline?court=%00", "court"),
        ("/v1/legal/pipeline?officer=lee%1b", "officer"),
        ("/v1/legal/pipeline?min_amount=1e5", "min_amount"),
        ("/v1/legal/pipeline?max_amount=%EF%BC%91", "max_amount"),
        ("/v1/legal/pipeline?limit=99999999999999999999", "limit"),
        ("/v1/legal/pipeline?limit=true", "limit"),
        ("/v1/legal/pipeline?cursor=garbage", "cursor"),
        ("/v1/legal/pipeline?cursor=%00", "cursor"),
        ("/v1/legal/limitations?cursor=garbage", "cursor"),
        ("/v1/legal/limitations?cursor=2026-01-01/garbage", "cursor"),
        ("/v1/legal/limitations?cursor=0001-01-01/00000000-0000-4000-8000-000000000000", "cursor"),
        ("/v1/legal/limitations?limit=-1", "limit"),
        ("/v1/legal/limitations?expiring_within=99999999999999999999d", "expiring_within"),
        ("/v1/legal/limitations?expiring_within=%EF%BC%99%EF%BC%90d", "expiring_within"),
        ("/v1/legal/limitations?expiring_within=%2090d", "expiring_within"),
    ],
)
async def test_query_values_outside_their_grammar_are_refused(
    ctx: Context, http: httpx.AsyncClient, path: str, field: str
) -> None:
    refused(await http.get(path, headers=token("auditor")), field)


async def test_a_bad_idempotency_key_is_refused(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        response = await http.post(
            f"/v1/legal/cases/{case_id}/legal-costs",
            json=COST,
            headers={**token("legal"), "Idempotency-Key": "k\x01y"},
        )
        refused(response, "Idempotency-Key")


async def test_the_gate_answers_before_the_body_is_parsed(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient
) -> None:
    case_id = await a_case(ctx)
    url = f"/v1/legal/cases/{case_id}/legal-costs"
    async with unchanged(engine):
        anonymous = await http.post(url, content=b"{not json", headers={"Idempotency-Key": "k"})
        assert anonymous.status_code == 401
        utf16 = await http.post(
            url,
            content='{"kind": "court_fee"}'.encode("utf-16"),
            headers={**keyed(), "Content-Type": "application/json"},
        )
        assert utf16.status_code == 415
        huge = await http.post(url, content=b" " * (1024 * 1024), headers=keyed())
        assert huge.status_code == 413


def forged(**claims: Any) -> dict[str, str]:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "sub": "officer-1",
        "roles": ["legal"],
        "iat": now,
        "exp": now + timedelta(hours=1),
        "iss": EMBEDDED_ISSUER,
        "aud": EMBEDDED_AUDIENCE,
    }
    base.update(claims)
    return {
        "Authorization": "Bearer "
        + jwt.encode({k: v for k, v in base.items() if v is not None}, JWT_SECRET)
    }


@pytest.mark.parametrize(
    "claims",
    [
        {"roles": 7},
        {"roles": {"admin": False}},
        {"roles": "admin"},
        {"roles": ["root"]},
        {"iss": "https://evil.example"},
        {"iss": None},
        {"aud": "some-other-system"},
        {"exp": datetime(2100, 1, 1, tzinfo=UTC)},
    ],
)
async def test_a_token_we_did_not_issue_as_required_is_401(
    ctx: Context, engine: AsyncEngine, http: httpx.AsyncClient, claims: dict[str, Any]
) -> None:
    case_id = await a_case(ctx)
    async with unchanged(engine):
        response = await http.post(
            f"/v1/legal/cases/{case_id}/legal-costs",
            json=COST,
            headers={**forged(**claims), "Idempotency-Key": "k"},
        )
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
