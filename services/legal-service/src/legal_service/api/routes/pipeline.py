"""`GET /v1/legal/pipeline` and `GET /v1/legal/limitations`: the officers' lists."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
from arrears.errors import Problem
from fastapi import APIRouter, Query, Response

from legal_service.api import schemas as s
from legal_service.api.deps import ConnDep, ContextDep, Reader
from legal_service.readmodel import repository as repo

router = APIRouter(prefix="/v1/legal", tags=["pipeline"])
Stage = Literal[
    "demand_served",
    "referred_to_legal",
    "lawsuit_filed",
    "asset_preservation_granted",
    "judgment",
    "enforcement",
    "closed",
    "written_off",
]
WITHIN = re.compile(r"^\s*(\d{1,5})\s*d?\s*$")


def _money(amount: Any, currency: str) -> s.MoneyPublic | None:
    if amount is None:
        return None
    return s.MoneyPublic(amount=str(Decimal(amount).quantize(Decimal("0.01"))), currency=currency)


def _amount(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return s._money_or_zero(value)
    except ValueError as exc:
        raise Problem(422, "Unprocessable Content", f"{name}: {exc}", field=name) from None


@router.get(
    "/pipeline",
    response_model=s.PipelinePage,
    summary="Cases on the legal track, by stage, court, officer and amount (keyset pages)",
)
async def pipeline(
    conn: ConnDep,
    _caller: Reader,
    stage: Stage | None = None,
    court: Annotated[str | None, Query(max_length=500)] = None,
    officer: Annotated[str | None, Query(max_length=200)] = None,
    min_amount: Annotated[str | None, Query(description="claim (or outstanding) at least")] = None,
    max_amount: Annotated[str | None, Query(description="claim (or outstanding) at most")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> s.PipelinePage:
    where = repo.PipelineFilter(
        stage=stage,
        court=court,
        officer=officer,
        min_amount=_amount(min_amount, "min_amount"),
        max_amount=_amount(max_amount, "max_amount"),
    )
    rows = await repo.pipeline(conn, where, cursor or "", limit)
    items = [
        s.PipelineItem(
            case_id=r["case_id"],
            loan_id=r["loan_id"],
            stage=r["stage"],
            court=r["court"],
            docket_number=r["docket_number"],
            officer=r["officer"],
            outstanding=_money(r["outstanding"], r["currency"]),
            claim_amount=_money(r["claim_amount"], r["currency"]),
            limitation_expires_on=r["limitation_expires_on"],
            has_guarantors=r["has_guarantors"],
            has_collateral=r["has_collateral"],
        )
        for r in rows
    ]
    return s.PipelinePage(
        items=items, next_cursor=rows[-1]["case_id"] if len(rows) == limit else None
    )


def parse_within(value: str) -> int:
    match = WITHIN.match(value)
    if match is None:
        raise Problem(
            422,
            "Unprocessable Content",
            'expiring_within must be a number of days such as "90d"',
            field="expiring_within",
        )
    return int(match.group(1))


def _cursor(value: str | None) -> tuple[date, str]:
    if not value:
        return (date.min, "")
    day, _, case_id = value.partition("/")
    try:
        return (date.fromisoformat(day), case_id)
    except ValueError:
        raise Problem(
            422, "Unprocessable Content", "not a cursor this API gave", field="cursor"
        ) from None


@router.get(
    "/limitations",
    response_model=s.LimitationPage,
    summary="Open cases whose limitation expires within the period (expired ones first)",
    response_class=Response,
    responses={200: {"model": s.LimitationPage, "content": {"application/json": {}}}},
)
async def limitations(
    ctx: ContextDep,
    conn: ConnDep,
    _caller: Reader,
    expiring_within: Annotated[str, Query(description='days, e.g. "90d"')] = "90d",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """`total` counts every case in the report (on the first page; null on later pages).
    Serialised straight to JSON (orjson): a report can hold thousands of rows."""
    days = parse_within(expiring_within)
    today = ctx.clock.now().date()
    until = today + timedelta(days=days)
    rows = await repo.limitations(conn, until, _cursor(cursor), limit)
    total = None if cursor else await repo.count_limitations(conn, until)
    items = []
    for r in rows:
        expires: date = r["limitation_expires_on"]
        left = (expires - today).days
        items.append(
            {
                "case_id": r["case_id"],
                "loan_id": r["loan_id"],
                "stage": "referred_to_legal" if r["referred_on"] is not None else r["stage"],
                "officer": r["officer"],
                "outstanding": {"amount": f"{r['outstanding']:.2f}", "currency": r["currency"]},
                "limitation_runs_from": r["limitation_runs_from"],
                "limitation_expires_on": expires,
                "days_left": left,
                "expired": left < 0,
            }
        )
    last = rows[-1] if len(rows) == limit else None
    body = {
        "as_of": today,
        "expiring_within_days": days,
        "total": total,
        "items": items,
        "next_cursor": f"{last['limitation_expires_on'].isoformat()}/{last['case_id']}"
        if last
        else None,
    }
    return Response(orjson.dumps(body), media_type="application/json")
