"""The HTTP API on real PostgreSQL: the guard, queues, claims, restrictions, KPIs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from arrears.clock import ManualClock
from contact_service.context import Context

from .conftest import START, Story, seed, token


def _ask(case_id: str, **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "channel": "call", "contact_point": "+8613800000001", **extra}


async def test_the_guard_answers_may_i_call_now(client: Any, ctx: Context) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    allowed = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id), headers=token()
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["allowed"] is True
    assert allowed.json()["contact_point"] == "+86*******0001"  # masked
    late = (START + timedelta(hours=12)).isoformat()  # 22:00 in Shanghai
    refused = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id, at=late), headers=token()
    )
    body = refused.json()
    assert body["allowed"] is False
    assert [r["code"] for r in body["reasons"]] == ["outside_hours"]
    assert body["next_allowed_at"] == "2026-11-03T00:00:00Z"  # 08:00 in Shanghai
    assert body["profile"] == {"name": "CN", "version": "2026.2"}


async def test_the_guard_needs_a_known_case_a_token_and_a_valid_body(
    client: Any, ctx: Context
) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    unknown = await client.post(
        "/v1/contact-permissions",
        json=_ask("00000000-0000-0000-0000-000000000000"),
        headers=token(),
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert (
        await client.post("/v1/contact-permissions", json=_ask(story.case_id))
    ).status_code == 401
    wrong_role = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id), headers=token("origination")
    )
    assert wrong_role.status_code == 403
    invalid = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id, channel="pigeon"), headers=token()
    )
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "channel"


async def test_the_queue_lists_callable_cases_in_priority_order(client: Any, ctx: Context) -> None:
    low = Story().delinquent("M1", days=5, amount="900.00")
    big = Story().delinquent("M1", days=5, amount="9000.00")
    high_risk = Story().delinquent("M1", days=5, amount="500.00")
    high_risk.add("RiskGraded", START, grade="high", score=45, factors={}, as_of="2026-11-02")
    current = Story()  # M0: not delinquent
    blocked = Story().delinquent("M1", days=5, amount="99999.00")
    blocked.add("DisputeRaised", START, reason="not my loan", raised_at=START.isoformat())
    asleep = Story(tz="America/New_York").delinquent("M1", days=5, amount="50000.00")
    await seed(ctx, [low, big, high_risk, current, blocked, asleep])
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(datetime(2026, 11, 2, 3, 30, tzinfo=UTC))  # 11:30 Shanghai, 22:30 New York
    page = await client.get("/v1/queues/all", headers=token())
    assert page.status_code == 200, page.text
    ids = [item["case_id"] for item in page.json()["items"]]
    assert ids == [high_risk.case_id, big.case_id, low.case_id]
    item = page.json()["items"][0]
    assert item["contact_point"] == "+86*******0001"
    assert item["loan_ref"].startswith("L-")
    assert "*" in item["loan_ref"]
    assert item["strategy"]["name"].startswith("consumer_loan.")
    only_m2 = await client.get("/v1/queues/m2", headers=token())
    assert only_m2.json()["items"] == []
    assert (await client.get("/v1/queues/nonsense", headers=token())).status_code == 422


async def test_two_collectors_claiming_one_case_one_wins(client: Any, ctx: Context) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])

    async def claim(who: str) -> Any:
        return await client.post(
            "/v1/queues/all/claims", json={"case_id": story.case_id}, headers=token(subject=who)
        )

    results = await asyncio.gather(*(claim(f"agent-{i}") for i in range(6)))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409, 409, 409, 409, 409]
    winner = next(r for r in results if r.status_code == 201).json()["collector"]
    # The winner's lease hides the case from the others' queue, not from the winner's.
    loser = next(f"agent-{i}" for i in range(6) if f"agent-{i}" != winner)
    assert (await client.get("/v1/queues/all", headers=token(subject=loser))).json()["items"] == []
    mine = await client.get("/v1/queues/all", headers=token(subject=winner))
    assert mine.json()["items"][0]["claimed_by"] == winner
    # The lease expires: then another collector may take the case.
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.advance(timedelta(seconds=ctx.settings.claim_lease_seconds + 1))
    assert (await claim(loser)).status_code == 201


async def test_claiming_the_next_case_of_the_queue(client: Any, ctx: Context) -> None:
    first = Story().delinquent(amount="5000.00")
    second = Story().delinquent(amount="1000.00")
    await seed(ctx, [first, second])
    a = await client.post("/v1/queues/all/claims", json={}, headers=token(subject="a"))
    b = await client.post("/v1/queues/all/claims", json={}, headers=token(subject="b"))
    c = await client.post("/v1/queues/all/claims", json={}, headers=token(subject="c"))
    assert (a.json()["case_id"], b.json()["case_id"]) == (first.case_id, second.case_id)
    assert c.status_code == 404
    released = await client.delete(
        f"/v1/queues/all/claims/{first.case_id}", headers=token(subject="a")
    )
    assert released.status_code == 204
    again = await client.post("/v1/queues/all/claims", json={}, headers=token(subject="c"))
    assert again.json()["case_id"] == first.case_id


async def test_a_do_not_contact_request_is_honoured_and_only_a_supervisor_lifts_it(
    client: Any, ctx: Context
) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    url = f"/v1/cases/{story.case_id}/contact-restrictions"
    recorded = await client.post(url, json={"kind": "do_not_contact"}, headers=token())
    assert recorded.status_code == 201
    assert recorded.json()["blocked"] is True
    refused = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id), headers=token()
    )
    assert [r["code"] for r in refused.json()["reasons"]] == ["do_not_contact"]
    assert refused.json()["next_allowed_at"] is None
    assert (await client.get("/v1/queues/all", headers=token())).json()["items"] == []
    lift = {"kind": "do_not_contact", "active": False}
    assert (await client.post(url, json=lift, headers=token())).status_code == 403
    assert (await client.post(url, json=lift, headers=token("supervisor"))).status_code == 201
    allowed = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id), headers=token()
    )
    assert allowed.json()["allowed"] is True


async def test_a_wrong_number_mark_bars_that_number(client: Any, ctx: Context) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    url = f"/v1/cases/{story.case_id}/contact-restrictions"
    mark = {"kind": "wrong_number", "contact_point": "+86 138 0000 0001"}
    assert (await client.post(url, json=mark, headers=token())).status_code == 201
    refused = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id), headers=token()
    )
    assert [r["code"] for r in refused.json()["reasons"]] == ["wrong_number"]
    view = await client.get(f"/v1/cases/{story.case_id}/contact-view", headers=token("auditor"))
    assert view.status_code == 200
    assert {p["contact_point"]: p["state"] for p in view.json()["contact_points"]}[
        "+86*******0001"
    ] == "wrong_number"
    assert "+8613800000001" not in view.text  # masked everywhere


async def test_kpis_by_strategy_arm(client: Any, ctx: Context) -> None:
    stories = [Story().delinquent() for _ in range(12)]
    for story in stories[:4]:
        story.add(
            "DelinquencyBucketChanged",
            START,
            from_bucket="M1",
            to_bucket="M2",
            days_past_due=31,
            as_of="2026-11-02",
        )
    stories[5].add("CaseClosed", START, reason="cured", closed_at=START.isoformat())
    stories[6].attempt(START, outcome="right_party_contact")
    await seed(ctx, stories)
    response = await client.get("/v1/kpis", headers=token("supervisor"))
    assert response.status_code == 200, response.text
    by_arm = response.json()["by_arm"]
    assert set(by_arm) <= {"champion", "challenger"}
    moves = sum(
        arm["roll_rates"].get("M1", {}).get("M2", {}).get("count", 0) for arm in by_arm.values()
    )
    assert moves == 4
    assert sum(arm["cases"] for arm in by_arm.values()) == 12
    weekly = await client.get("/v1/kpis?every=week", headers=token("auditor"))
    assert weekly.status_code == 200, weekly.text
    assert len(weekly.json()["periods"]) >= 5
    assert (await client.get("/v1/kpis", headers=token("collector"))).status_code == 403


async def test_the_api_is_described_in_openapi(client: Any) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = set(spec["paths"])
    assert {
        "/v1/contact-permissions",
        "/v1/queues/{queue}",
        "/v1/queues/{queue}/claims",
        "/v1/cases/{case_id}/contact-attempts",
        "/v1/cases/{case_id}/promises",
        "/v1/kpis",
        "/v1/daily-runs",
        "/healthz",
        "/readyz",
    } <= paths
    assert (await client.get("/healthz")).json() == {"status": "ok"}


async def test_a_dialer_screens_its_list_in_one_request(client: Any, ctx: Context) -> None:
    day, night = Story().delinquent(), Story(tz="America/New_York").delinquent()
    await seed(ctx, [day, night])
    assert isinstance(ctx.clock, ManualClock)
    ctx.clock.set(datetime(2026, 11, 2, 3, 30, tzinfo=UTC))  # 11:30 Shanghai, 22:30 New York
    unknown = "00000000-0000-0000-0000-000000000000"
    body = {"requests": [_ask(day.case_id), _ask(night.case_id), _ask(unknown)]}
    response = await client.post("/v1/contact-permissions:batch", json=body, headers=token())
    assert response.status_code == 200, response.text
    answers = response.json()["decisions"]
    assert [a["case_id"] for a in answers] == [day.case_id, night.case_id, unknown]
    assert [a["allowed"] for a in answers] == [True, False, False]
    assert answers[1]["reasons"][0]["code"] == "outside_hours"
    assert answers[2]["reasons"][0]["code"] == "unknown_case"
    too_many = {"requests": [_ask(day.case_id)] * 501}
    assert (
        await client.post("/v1/contact-permissions:batch", json=too_many, headers=token())
    ).status_code == 422


def _guard_count(metrics: str, outcome: str) -> float:
    prefix = "arrears_guard_decisions_total{"
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(prefix) and 'use="permission"' in line and f'outcome="{outcome}"' in line
    )


async def test_guard_decisions_are_counted_by_outcome(client: Any, ctx: Context) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    before = (await client.get("/metrics")).text
    late = (START + timedelta(hours=12)).isoformat()
    await client.post("/v1/contact-permissions", json=_ask(story.case_id), headers=token())
    await client.post("/v1/contact-permissions", json=_ask(story.case_id, at=late), headers=token())
    after = (await client.get("/metrics")).text

    assert _guard_count(after, "allowed") == _guard_count(before, "allowed") + 1
    assert _guard_count(after, "refused") == _guard_count(before, "refused") + 1
