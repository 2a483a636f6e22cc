"""A read model rebuilt from case-service's feed equals the one built live, and legal-service's
limitation expiry agrees with case-service's own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from arrears.auth import issue_token
from arrears.messaging import Applier, FeedClient, rebuild
from case_service.api.app import create_app as create_case_service
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.relay import CaseEventEncoder
from legal_service.context import Context
from legal_service.projections.handlers import Projection, reset

from .case_service_support import cases as cases
from .conftest import JWT_SECRET, apply_directly, case_row
from .test_projection import comparable

NOW = datetime.now(UTC)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


def a_case_with_a_legal_history(cases: CaseApplication, loan_id: str, due: date) -> CollectionCase:
    case = CollectionCase.open(
        loan_id=loan_id,
        product="consumer_loan",
        currency="CNY",
        principal=Decimal("60000.00"),
        borrower={"id": "B-" + loan_id, "name": "Li Wei", "timezone": "Asia/Shanghai"},
        guarantors=[{"id": "G1", "name": "Wang Fang", "phones": []}],
        collateral={"type": "vehicle", "description": "2019 sedan"},
        now=at(due - timedelta(days=30)),
    )
    case.record_missed_payment(installment=1, due_date=due, amount=Decimal("5000.00"), now=at(due))
    case.record_missed_payment(
        installment=2, due_date=due + timedelta(days=31), amount=Decimal("5000.00"),
        now=at(due + timedelta(days=31)),
    )  # fmt: skip
    served = at(due + timedelta(days=60))
    case.serve_notice(kind="demand_letter", delivered_via="registered_mail", served_at=served,
                      proof="EMS9876543210CN", now=served)  # fmt: skip
    unproven = at(due + timedelta(days=400))
    case.serve_notice(kind="legal_notice", delivered_via="letter", served_at=unproven,
                      proof=None, now=unproven)  # fmt: skip
    paid = at(due + timedelta(days=90))
    case.record_payment(amount=Decimal("5000.00"), paid_at=paid, reference="PAY-1",
                        now=at(due + timedelta(days=420)))  # fmt: skip
    cases.save(case)
    return case


def feed(cases: CaseApplication) -> FeedClient:
    app = create_case_service(cases.settings, application=cases)
    app.state.cases = cases  # the ASGI transport runs no lifespan
    service = issue_token(JWT_SECRET, "service", "legal-rebuild", timedelta(hours=1))
    return FeedClient("http://case-service", service, transport=httpx.ASGITransport(app=app))


async def test_a_rebuild_from_the_feed_equals_the_live_read_model(
    ctx: Context, cases: CaseApplication
) -> None:
    built = [
        a_case_with_a_legal_history(cases, "L-RB-1", date(2024, 2, 29)),
        a_case_with_a_legal_history(cases, "L-RB-2", date(2025, 1, 31)),
    ]
    envelopes = CaseEventEncoder(cases.mapper).envelopes(
        cases.recorder.select_notifications(start=1, limit=1000)
    )
    await apply_directly(ctx, envelopes)
    live: dict[str, Any] = {}
    for case in built:
        row = await case_row(ctx.engine, str(case.id))
        assert row is not None
        live[str(case.id)] = comparable(row)
        # legal-service's clock agrees with case-service's own (same rules, same history).
        assert row["limitation_expires_on"] == case.limitation_expires_on

    source = feed(cases)
    try:
        # The batch path (each case written once per page) against the live per-event one.
        projection = Projection(ctx.policy)
        applier = Applier(
            ctx.settings.consumer_group,
            projection.handle,
            batch_handler=projection.handle_batch,
        )
        report = await rebuild(ctx.engine, applier, source, reset, page_size=3)
    finally:
        await source.aclose()
    assert report.events == len(envelopes)
    for case_id, before in live.items():
        row = await case_row(ctx.engine, case_id)
        assert row is not None
        assert comparable(row) == before
    first = live[str(built[0].id)]
    # The oldest unpaid installment is the second (the payment settled the first); the
    # latest interruption with proof is the payment; the unproven legal notice is shown only.
    assert str(first["oldest_due_on"]) == "2024-03-31"
    assert str(first["limitation_runs_from"]) == "2024-05-29"
    assert str(first["limitation_expires_on"]) == "2027-05-29"
    assert [i["proof"] is not None for i in first["state"]["interruptions"]] == [True, False, True]
