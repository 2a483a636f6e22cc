"""Work queues: `GET /v1/queues/{queue}` in priority order, and leases on cases
(`POST /v1/queues/{queue}/claims`) so two collectors never call the same borrower at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from arrears.business_date import business_date
from arrears.errors import Problem
from arrears.input import PageLimit, PageOffset
from fastapi import APIRouter, Path, Query, Response

from contact_service.api import schemas as s
from contact_service.api.deps import Collector, ConnDep, ContextDep, Reader, not_found
from contact_service.context import Context
from contact_service.policy import guard
from contact_service.policy import model as m
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1/queues", tags=["work queues"])
QueueName = Annotated[str, Path(pattern="^(" + "|".join(repo.QUEUES) + ")$")]
PHONES = ("mobile", "home", "work")


def _first_allowed(ctx: Context, inputs: repo.PolicyInputs, now: datetime) -> str | None:
    """The borrower's first number the guard allows a call to now, if any (masked)."""
    for point in inputs.points:
        if point["party"] != "borrower" or point["kind"] not in PHONES:
            continue
        request = m.ContactRequest("borrower", "call", point["value"], now)
        profile = ctx.profile_of(inputs.view.jurisdiction)
        if guard.decide(inputs.view, inputs.history, profile, request, now).allowed:
            return str(point.get("masked") or m.mask_point(point["value"]))
    return None


def _item(
    ctx: Context, row: dict[str, Any], point: str, claim: dict[str, Any] | None, now: datetime
) -> s.QueueItem:
    today = guard.local_date(now, row["timezone"])
    business_day = business_date(now, ctx.settings.business_timezone)
    strategy = ctx.book.strategies.get(row["strategy"])
    return s.QueueItem(
        case_id=row["case_id"],
        loan_ref=m.mask_id(row["loan_id"]),
        product=row["product"],
        bucket=derive.bucket(row["oldest_due_on"], business_day),
        days_past_due=derive.days_past_due(row["oldest_due_on"], business_day),
        arrears=str(row["arrears"]),
        currency=row["currency"],
        risk_grade=row["risk_grade"],
        contactability=row["contactability"],
        promise_due=row["open_promise_due"],
        promise_amount=str(row["open_promise_amount"]) if row["open_promise_amount"] else None,
        near_payday=derive.near_payday(row["payday"], today),
        priority=row["priority"],
        local_time=now.astimezone(guard.zone(row["timezone"])).strftime("%H:%M"),
        contact_point=point,  # masked already
        claimed_by=claim["collector"] if claim else None,
        strategy=s.StrategyRef(
            name=row["strategy"], version=strategy.version if strategy else None, arm=row["arm"]
        ),
    )


async def _page(
    ctx: Context, conn: Any, queue: str, collector: str, limit: int, offset: int
) -> tuple[list[tuple[dict[str, Any], str]], int]:
    """Up to `limit` cases the guard lets the collector call now; and how many rows were read."""
    now = ctx.clock.now()
    today = business_date(now, ctx.settings.business_timezone)
    zones = await ctx.zones.permitted(conn, ctx.profiles, now)
    found: list[tuple[dict[str, Any], str]] = []
    scanned, batch = 0, max(limit + limit // 2, 10)
    while len(found) < limit:
        rows = await repo.queue_candidates(
            conn,
            queue,
            zones=zones,
            collector=collector,
            now=now,
            limit=batch,
            offset=offset + scanned,
            today=today,
        )
        inputs = await repo.policy_inputs(conn, [r["case_id"] for r in rows], now)
        for row in rows:
            scanned += 1
            point = (
                _first_allowed(ctx, inputs[row["case_id"]], now)
                if row["case_id"] in inputs
                else None
            )
            if point is not None:
                found.append((row, point))
                if len(found) == limit:
                    break
        if len(rows) < batch:
            return found, -1
    return found, scanned


@router.get(
    "/{queue}",
    response_model=s.QueuePage,
    summary="Cases the caller may contact now, highest priority first",
)
async def list_queue(
    queue: QueueName,
    ctx: ContextDep,
    conn: ConnDep,
    caller: Reader,
    limit: Annotated[PageLimit | None, Query(le=500)] = None,
    offset: Annotated[PageOffset, Query()] = 0,
) -> s.QueuePage:
    now = ctx.clock.now()
    size = limit or ctx.settings.queue_page_size
    found, scanned = await _page(ctx, conn, queue, caller.subject, size, offset)
    claims = await repo.claims_of(conn, [r["case_id"] for r, _ in found], now)
    return s.QueuePage(
        queue=queue,
        as_of=now,
        items=[_item(ctx, row, point, claims.get(row["case_id"]), now) for row, point in found],
        next_offset=None if scanned < 0 else offset + scanned,
    )


@router.post(
    "/{queue}/claims",
    response_model=s.ClaimPublic,
    status_code=201,
    summary="Lease a case (the given one, or the queue's next free one) to the caller",
    responses={
        404: {"description": "no such case, or nothing left to claim"},
        409: {"description": "another collector holds the case"},
    },
)
async def claim_case(
    queue: QueueName, body: s.ClaimCreate, ctx: ContextDep, conn: ConnDep, caller: Collector
) -> s.ClaimPublic:
    now = ctx.clock.now()
    lease = timedelta(seconds=body.lease_seconds or ctx.settings.claim_lease_seconds)
    if body.case_id is not None:
        row = await repo.get_case(conn, str(body.case_id))
        if row is None:
            raise not_found(body.case_id)
        if row["status"] != "open":
            raise Problem(409, "Conflict", "the case is closed", field="case_id")
        won, holder = await repo.claim(
            conn, str(body.case_id), collector=caller.subject, queue=queue, now=now, lease=lease
        )
        if won is None:
            until = holder["expires_at"].isoformat() if holder else "later"
            raise Problem(
                409,
                "Conflict",
                f"another collector holds this case until {until}",
                field="case_id",
                extra={"claimed_until": until},
            )
        return s.ClaimPublic(**won)
    found, _ = await _page(ctx, conn, queue, caller.subject, 20, 0)
    for row, _point in found:
        won, _holder = await repo.claim(
            conn, row["case_id"], collector=caller.subject, queue=queue, now=now, lease=lease
        )
        if won is not None:
            return s.ClaimPublic(**won)
    raise Problem(404, "Not Found", f"no case in queue {queue} is free to claim now")


@router.delete(
    "/{queue}/claims/{case_id}",
    status_code=204,
    summary="Give a leased case back",
    responses={404: {"description": "the caller holds no lease on this case"}},
)
async def release_claim(
    queue: QueueName, case_id: UUID, conn: ConnDep, caller: Collector
) -> Response:
    if not await repo.release(conn, str(case_id), caller.subject):
        raise Problem(
            404, "Not Found", f"you hold no lease on this case in {queue}", field="case_id"
        )
    return Response(status_code=204)
