"""Guard decisions stored and explained per case; consent needs evidence; the API's own input
is strict (extra fields, NUL characters, far-off times and huge offsets are 422, never 500)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from contact_service.context import Context

from .conftest import START, Story, seed, token


def _ask(case_id: str, **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "channel": "call", "contact_point": "+8613800000001", **extra}


async def test_every_decision_is_stored_with_its_profile_and_rules(
    client: Any, ctx: Context
) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    late = (START + timedelta(hours=13)).isoformat()  # 23:00 in Shanghai
    await client.post("/v1/contact-permissions", json=_ask(story.case_id), headers=token())
    await client.post(
        "/v1/contact-permissions",
        json=_ask(story.case_id, at=late),
        headers=token("auditor", "auditor-7"),
    )
    await client.post(
        "/v1/contact-permissions:batch",
        json={"requests": [_ask(story.case_id, contact_point="+8613900000009")]},
        headers=token(),
    )

    page = await client.get(
        f"/v1/cases/{story.case_id}/contact-decisions", headers=token("auditor")
    )

    assert page.status_code == 200, page.text
    items = page.json()["items"]
    assert [(i["allowed"], i["asked_by"]) for i in items] == [
        (False, "agent-1"),  # the batch: the spouse's number asked as the borrower
        (False, "auditor-7"),
        (True, "agent-1"),
    ]
    newest, late_one, first = items
    assert [r["code"] for r in newest["reasons"]] == ["party_mismatch"]
    assert [r["code"] for r in late_one["reasons"]] == ["outside_hours"]
    assert late_one["at"].startswith("2026-11-02T15:00")
    for item in items:
        assert item["profile"] == {"name": "CN", "version": "2026.2"}
        assert item["contact_point"].startswith("+86*")
        rules = {r["rule"]: r for r in item["rules"]}
        assert rules["hours"]["source"]
    assert {r["rule"]: r["outcome"] for r in late_one["rules"]}["hours"] == "refused"
    assert {r["rule"]: r["outcome"] for r in first["rules"]}["hours"] == "passed"
    assert "+8613800000001" not in page.text
    # Collectors do not read the audit trail.
    assert (
        await client.get(f"/v1/cases/{story.case_id}/contact-decisions", headers=token())
    ).status_code == 403


async def test_quiet_hours_consent_needs_evidence_and_lifting_a_restriction_a_supervisor(
    client: Any, ctx: Context
) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    url = f"/v1/cases/{story.case_id}/contact-restrictions"
    bare = await client.post(url, json={"kind": "quiet_hours_consent"}, headers=token())
    assert bare.status_code == 422
    assert bare.json()["errors"][0]["field"] == "evidence"
    no_proof = await client.post(
        url,
        json={"kind": "quiet_hours_consent", "evidence": {"given_at": START.isoformat()}},
        headers=token(),
    )
    assert no_proof.status_code == 422
    future = (START + timedelta(days=2)).isoformat()
    ahead = await client.post(
        url,
        json={
            "kind": "quiet_hours_consent",
            "evidence": {"recording_ref": "REC-77", "given_at": future},
        },
        headers=token(),
    )
    assert ahead.status_code == 422
    consent = {
        "kind": "quiet_hours_consent",
        "evidence": {"recording_ref": "REC-77", "given_at": START.isoformat()},
    }
    assert (await client.post(url, json=consent, headers=token())).status_code == 201
    late = (START + timedelta(hours=13)).isoformat()
    allowed = await client.post(
        "/v1/contact-permissions", json=_ask(story.case_id, at=late), headers=token()
    )
    assert allowed.json()["allowed"] is True
    # The borrower's consent is withdrawn by anyone; a restriction is lifted by a supervisor.
    withdraw = {"kind": "quiet_hours_consent", "active": False}
    assert (await client.post(url, json=withdraw, headers=token())).status_code == 201
    vulnerable = {"kind": "vulnerable"}
    assert (await client.post(url, json=vulnerable, headers=token())).status_code == 201
    lift = {"kind": "vulnerable", "active": False}
    assert (await client.post(url, json=lift, headers=token())).status_code == 403
    assert (await client.post(url, json=lift, headers=token("supervisor"))).status_code == 201


async def test_the_api_refuses_bad_input_with_422_naming_the_field(
    client: Any, ctx: Context
) -> None:
    story = Story().delinquent()
    await seed(ctx, [story])
    cases = [
        ("/v1/contact-permissions", _ask(story.case_id, profile={"name": "US-RegF"}), "profile"),
        ("/v1/contact-permissions", _ask(story.case_id, at="9999-12-31T23:59:59Z"), "at"),
        ("/v1/contact-permissions", _ask(story.case_id, at="2090-01-01T00:00:00Z"), "at"),
        ("/v1/contact-permissions", _ask(story.case_id, contact_point="+86\x00138"), None),
        (
            f"/v1/cases/{story.case_id}/contact-attempts",
            {
                "channel": "call",
                "contact_point": "+8613800000001",
                "outcome": "no_answer",
                "occurred_at": START.isoformat(),
                "notes": "called\x00",
            },
            "notes",
        ),
        (
            f"/v1/cases/{story.case_id}/contact-restrictions",
            {"kind": "do_not_contact", "note": "asked\x00"},
            "note",
        ),
        (
            f"/v1/cases/{story.case_id}/contact-attempts",
            {
                "channel": "call",
                "contact_point": "+8613800000001",
                "outcome": "no_answer",
                "occurred_at": "2190-01-01T00:00:00Z",
            },
            "occurred_at",
        ),
    ]
    for url, body, field in cases:
        response = await client.post(url, json=body, headers=token())
        assert response.status_code == 422, (url, body, response.text)
        if field is not None:
            assert field in {e["field"].split(".")[0] for e in response.json()["errors"]}, (
                response.text
            )
    for url in (
        "/v1/queues/all?offset=99999999999999999999",
        "/v1/queues/all?limit=0",
        "/v1/commands/99999999999999999999",
        "/v1/kpis?from=0001-01-01",
        f"/v1/cases/{story.case_id}/contact-decisions?offset=-1",
    ):
        response = await client.get(url, headers=token("supervisor"))
        assert response.status_code == 422, (url, response.text)
