"""One contact-service, cases of several jurisdictions side by side: each decided under its
own profile; contact points and candidate zones added by their events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contact_service.context import Context

from .conftest import START, Story, seed, token

US_BORROWER = {
    "id": "B-2",
    "name": "Jane Doe",
    "timezone": "America/New_York",
    "address": "1 Main St",
    "phones": [{"number": "+12125550101", "kind": "mobile", "owner": "borrower"}],
}


def _ask(case_id: str, point: str, **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "channel": "call", "contact_point": point, **extra}


async def test_a_cn_case_and_a_us_case_are_decided_under_their_own_profiles(
    client: Any, ctx: Context
) -> None:
    cn = Story(jurisdiction="CN").delinquent()
    us = Story(tz="America/New_York", jurisdiction="US-RegF", borrower=US_BORROWER).delinquent()
    await seed(ctx, [cn, us])
    # 21:30 local in both: CN permits until before 22:00, Reg F only until 21:00.
    cn_at = (START + timedelta(hours=11, minutes=30)).isoformat()  # 21:30 in Shanghai
    us_at = "2026-11-02T21:30:00-05:00"
    cn_answer = await client.post(
        "/v1/contact-permissions",
        json=_ask(cn.case_id, "+8613800000001", at=cn_at),
        headers=token(),
    )
    us_answer = await client.post(
        "/v1/contact-permissions", json=_ask(us.case_id, "+12125550101", at=us_at), headers=token()
    )
    assert cn_answer.json()["allowed"] is True, cn_answer.text
    assert cn_answer.json()["profile"] == {"name": "CN", "version": "2026.2"}
    assert us_answer.json()["allowed"] is False
    assert us_answer.json()["profile"]["name"] == "US-RegF"
    assert [r["code"] for r in us_answer.json()["reasons"]] == ["outside_hours"]


async def test_a_case_naming_no_jurisdiction_takes_the_default_and_a_change_moves_it(
    client: Any, ctx: Context
) -> None:
    story = Story().delinquent()  # a CaseOpened without `jurisdiction`
    await seed(ctx, [story])
    before = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id, "+8613800000001"), headers=token()
    )
    assert before.json()["profile"]["name"] == ctx.profile.name == "CN"
    story.add(
        "JurisdictionChanged",
        START,
        from_jurisdiction="CN",
        to_jurisdiction="US-RegF",
        reason="moved",
        changed_by=None,
        changed_at=START.isoformat(),
    )
    await seed(ctx, [story])
    after = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id, "+8613800000001"), headers=token()
    )
    assert after.json()["profile"]["name"] == "US-RegF"
    view = await client.get(f"/v1/cases/{story.case_id}/contact-view", headers=token())
    assert view.json()["jurisdiction"] == "US-RegF"
    assert view.json()["profile"]["name"] == "US-RegF"


async def test_a_zone_added_by_its_event_is_checked_too(client: Any, ctx: Context) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    at = (START + timedelta(hours=1)).isoformat()  # 11:00 in Shanghai, 19:00 in Los Angeles
    story.add(
        "TimezoneCandidateAdded",
        START,
        timezone="America/Los_Angeles",
        source="address",
        added_at=START.isoformat(),
    )
    await seed(ctx, [story])
    allowed = await client.post(
        "/v1/contact-permissions",
        json=_ask(story.case_id, "+8613800000001", at=at),
        headers=token(),
    )
    assert allowed.json()["allowed"] is True
    late = (START + timedelta(hours=5)).isoformat()  # 15:00 Shanghai, 23:00 Los Angeles
    refused = await client.post(
        "/v1/contact-permissions",
        json=_ask(story.case_id, "+8613800000001", at=late),
        headers=token(),
    )
    assert refused.json()["allowed"] is False
    assert "America/Los_Angeles" in refused.json()["reasons"][0]["message"]
