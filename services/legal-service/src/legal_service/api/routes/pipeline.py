"""`GET /v1/legal/pipeline` and `GET /v1/legal/limitations`: the officers' lists.

Query parameters follow arrears.input's grammar (texts without control characters, money
strings, bounded integers); a cursor is one this API gave, or the request is refused (422)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from arrears.errors import Problem
from arrears.input import MoneyOrZero, Text, parse_date
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
WITHIN = re.compile(r"([0-9]{1,5})d?")
MAX_WITHIN_DAYS = 36500  # a hundred years: longer than any limitation period


def _money(amount: Any, currency: str) -> s.MoneyPublic | None:
    if amount is None:
        return None
    return s.MoneyPublic(amount=str(Decimal(amount).quantize(Decimal("0.01"))), currency=currency)


def _refused(field: str, message: str) -> Problem:
    return Problem(422, "Unprocessable Content", f"{field}: {message}", field=field)


def _after_case(cursor: str | None) -> str:
    """The pipeline's cursor: the last case id of the previous page."""
    if cursor is None:
        return ""
    try:
        return str(UUID(cursor))
    except ValueError:
        raise _refused("cursor", "not a cursor this API gave") from None


@router.get(
    "/pipeline",
    response_model=s.PipelinePage,
    summary="Cases on the legal track, by stage, court, officer and amount (keyset pages)",
)
async def pipeline(
    conn: ConnDep,
    _caller: Reader,
    stage: Stage | None = None,
    court: Annotated[Text | None, Query()] = None,
    officer: Annotated[s.OfficerName | None, Query()] = None,
    min_amount: Annotated[
        MoneyOrZero | None, Query(description="claim (or outstanding) at least")
    ] = None,
    max_amount: Annotated[
        MoneyOrZero | None, Query(description="claim (or outstanding) at most")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=36, description="next_cursor")] = None,
) -> s.PipelinePage:
    where = repo.PipelineFilter(
        stage=stage, court=court, officer=officer, min_amount=min_amount, max_amount=max_amount
    )
    rows = await repo.pipeline(conn, where, _after_case(cursor), limit)
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
    match = WITHIN.fullmatch(value)
    if match is None or int(match.group(1)) > MAX_WITHIN_DAYS:
        raise _refused(
            "expiring_within", f'must be a number of days up to {MAX_WITHIN_DAYS} such as "90d"'
        )
    return int(match.group(1))


def _cursor(value: str | None) -> tuple[date, str]:
    """The limitation report's cursor: `<expiry date>/<case id>` of the previous page."""
    if value is None:
        return (date.min, "")
    day, _, case_id = value.partition("/")
    try:
        return (parse_date(day), str(UUID(case_id)))
    except ValueError:
        raise _refused("cursor", "not a cursor this API gave") from None


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
    cursor: Annotated[str | None, Query(max_length=60, description="next_cursor")] = None,
) -> Response:
    """`total` counts every case in the report (on the first page; null on later pages).
    Serialised straight to JSON (orjson): a report can hold thousands of rows."""
    days = parse_within(expiring_within)
    today = ctx.today()
    until = today + timedelta(days=days)
    rows = await repo.limitations(conn, until, _cursor(cursor), limit)
    total = None if cursor is not None else await repo.count_limitations(conn, until)
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
