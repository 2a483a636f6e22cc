"""`GET /v1/promises`: the supervisor's list of promises due within dates or broken on a day."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contact_service.context import Context

from .conftest import START, Story, seed, token


def _promise(story: Story, promise_id: str, due_in_days: int, amount: str) -> None:
    story.add(
        "PromiseToPayMade",
        START,
        promise_id=promise_id,
        amount=amount,
        currency="CNY",
        promised_date=(START + timedelta(days=due_in_days)).date().isoformat(),
        made_at=START.isoformat(),
    )


async def test_promises_are_listed_by_due_date_and_by_the_day_they_broke(
    client: Any, ctx: Context
) -> None:
    soon, later, broken = (Story().delinquent() for _ in range(3))
    _promise(soon, "p-soon", 2, "300.00")
    _promise(later, "p-later", 20, "400.00")
    _promise(broken, "p-broken", 1, "500.00")
    broke_on = (START + timedelta(days=2)).date().isoformat()
    broken.add(
        "PromiseBroken",
        START + timedelta(days=2),
        promise_id="p-broken",
        as_of=broke_on,
        amount="500.00",
        currency="CNY",
        paid_amount="0.00",
        promised_date=(START + timedelta(days=1)).date().isoformat(),
    )
    await seed(ctx, [soon, later, broken])

    week = {
        "status": "open",
        "due_from": START.date().isoformat(),
        "due_to": (START + timedelta(days=7)).date().isoformat(),
    }
    due = await client.get("/v1/promises", params=week, headers=token("supervisor"))
    assert due.status_code == 200, due.text
    assert [(p["promise_id"], p["amount"]) for p in due.json()["items"]] == [("p-soon", "300.00")]
    assert due.json()["items"][0]["loan_ref"].count("*") > 0  # the loan is masked

    fell = await client.get(
        "/v1/promises",
        params={"status": "broken", "resolved_on": broke_on},
        headers=token("auditor"),
    )
    assert [p["promise_id"] for p in fell.json()["items"]] == ["p-broken"]


async def test_a_collector_may_not_read_the_team_promises(client: Any) -> None:
    assert (await client.get("/v1/promises", headers=token("collector"))).status_code == 403


async def test_a_bad_date_names_its_field(client: Any) -> None:
    reply = await client.get(
        "/v1/promises", params={"due_from": "tomorrow"}, headers=token("supervisor")
    )
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["field"] == "due_from"


async def test_a_case_under_a_lasting_restriction_is_listed_as_blocked_with_why(
    client: Any, ctx: Context
) -> None:
    barred, free = Story().delinquent(), Story().delinquent()
    await seed(ctx, [barred, free])
    mark = {"kind": "do_not_contact", "note": "asked in writing"}
    url = f"/v1/cases/{barred.case_id}/contact-restrictions"
    assert (await client.post(url, json=mark, headers=token())).status_code == 201

    listed = await client.get("/v1/blocked-cases", headers=token("supervisor"))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [(i["case_id"], i["flags"]) for i in items] == [(barred.case_id, ["do_not_contact"])]

    lift = {"kind": "do_not_contact", "active": False}
    assert (await client.post(url, json=lift, headers=token("supervisor"))).status_code == 201
    again = await client.get("/v1/blocked-cases", headers=token("supervisor"))
    assert again.json()["items"] == []


async def test_cases_placed_with_an_agency_are_listed_until_recalled(
    client: Any, ctx: Context
) -> None:
    placed, recalled, kept = (Story().delinquent("M3", days=70) for _ in range(3))
    for story in (placed, recalled):
        story.add(
            "PlacedWithAgency",
            START,
            agency_id="AG-EAST",
            consent_ref="consent-1",
            placed_at=START.isoformat(),
        )
    recalled.add(
        "RecalledFromAgency",
        START,
        agency_id="AG-EAST",
        reason="poor results",
        recalled_at=START.isoformat(),
    )
    await seed(ctx, [placed, recalled, kept])

    listed = await client.get("/v1/agency-placements", headers=token("supervisor"))
    assert listed.status_code == 200, listed.text
    assert [(i["case_id"], i["agency_id"]) for i in listed.json()["items"]] == [
        (placed.case_id, "AG-EAST")
    ]
