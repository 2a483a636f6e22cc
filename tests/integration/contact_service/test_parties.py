"""The party behind a number is the case's fact, and lost contact by the 3:3:3 rule, through
HTTP: contact-service's guard and attempt endpoint in front of a real case-service."""

# The fixtures `cases` and `outbox` are shared with test_outcomes (imported, then requested).
# ruff: noqa: F811

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from case_service.application import CaseApplication
from contact_service.context import Context

from .conftest import token
from .test_outcomes import (  # noqa: F401  (fixtures)
    _case_transport,
    _events,
    _project_new_events,
    cases,
    outbox,
)

BORROWER = ("+8613800000001", "+8613800000002", "+8613800000003")
SPOUSE = "+8613900000009"
NEW = "+8613900000077"
# 1 November in Shanghai (UTC+8): 09:00, 14:00 and 19:00 local.
PERIODS = (
    datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 6, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 11, 0, tzinfo=UTC),
)


async def _open(ctx: Context, cases: CaseApplication) -> str:
    phones = [{"number": n, "kind": "mobile", "owner": "borrower"} for n in BORROWER]
    phones.append({"number": SPOUSE, "kind": "mobile", "owner": "spouse"})
    case, _ = cases.open_case(
        loan_id="L-" + uuid.uuid4().hex[:8],
        product="consumer_loan",
        currency="CNY",
        principal=Decimal("100000.00"),
        borrower={"id": "B-1", "name": "Li Wei", "timezone": "Asia/Shanghai", "phones": phones},
        guarantors=[],
        collateral=None,
    )
    await _project_new_events(ctx, cases, str(case.id))
    return str(case.id)


def _ask(case_id: str, point: str, party: str = "borrower", **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "channel": "call", "contact_point": point, "party": party, **extra}


async def _attempt(client: Any, case_id: str, point: str, at: datetime, **extra: Any) -> Any:
    body = {
        "channel": "call",
        "party": "borrower",
        "contact_point": point,
        "outcome": "no_answer",
        "occurred_at": at.isoformat(),
        **extra,
    }
    key = f"{point}-{at.isoformat()}-{body['channel']}"
    return await client.post(
        f"/v1/cases/{case_id}/contact-attempts",
        json=body,
        headers={**token(), "Idempotency-Key": key},
    )


async def test_a_spouse_number_asked_as_the_borrower_is_refused(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    asked = await client.post(
        "/v1/contact-permissions", json=_ask(case_id, SPOUSE), headers=token()
    )
    assert asked.status_code == 200
    assert asked.json()["allowed"] is False
    assert [r["code"] for r in asked.json()["reasons"]] == ["party_mismatch"]
    assert "spouse" in asked.json()["reasons"][0]["message"]
    recorded = await _attempt(client, case_id, SPOUSE, PERIODS[0])
    assert recorded.status_code == 409
    assert "ContactAttempted" not in _events(cases, case_id)


async def test_an_unknown_number_is_refused_and_allowed_once_added(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    unknown = await client.post("/v1/contact-permissions", json=_ask(case_id, NEW), headers=token())
    assert [r["code"] for r in unknown.json()["reasons"]] == ["unknown_contact_point"]
    assert (await _attempt(client, case_id, NEW, PERIODS[0])).status_code == 409

    async with httpx.AsyncClient(
        transport=_case_transport(cases), base_url="http://case-service"
    ) as case_service:
        added = await case_service.post(
            f"/v1/cases/{case_id}/contact-points",
            json={"number": NEW, "kind": "mobile", "owner": "borrower", "source": "skip_trace"},
            headers=token("collector"),
        )
    assert added.status_code == 201, added.text
    await _project_new_events(outbox, cases, case_id)

    allowed = await client.post("/v1/contact-permissions", json=_ask(case_id, NEW), headers=token())
    assert allowed.json()["allowed"] is True, allowed.text
    assert (await _attempt(client, case_id, NEW, PERIODS[0])).status_code == 201


async def test_contact_is_lost_only_after_the_nine_cells_and_a_delivered_sms(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    cells = [(n, t) for n in BORROWER for t in PERIODS]
    for number, at in cells[:8]:
        response = await _attempt(client, case_id, number, at)
        assert response.status_code == 201, response.text
    sms = await _attempt(
        client, case_id, BORROWER[0], PERIODS[1], channel="sms", outcome="delivered"
    )
    assert sms.status_code == 201, sms.text
    assert "ContactLost" not in _events(cases, case_id)  # eight cells and the SMS

    ninth = await _attempt(client, case_id, *cells[8])
    assert ninth.status_code == 201, ninth.text
    assert ninth.json()["events"] == ["ContactAttempted", "ContactLost"]
    assert _events(cases, case_id).count("ContactLost") == 1
