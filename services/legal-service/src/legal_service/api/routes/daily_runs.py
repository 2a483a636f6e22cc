"""`POST /v1/daily-runs`: run the legal policy over every open case now (role service)."""

from __future__ import annotations

from fastapi import APIRouter

from legal_service.api import schemas as s
from legal_service.api.deps import ContextDep, Service
from legal_service.daily import run_daily

router = APIRouter(prefix="/v1", tags=["daily run"])


@router.post(
    "/daily-runs",
    status_code=201,
    response_model=s.DailyRunPublic,
    summary="Decide today's legal tasks; each task is emitted once however often this runs",
)
async def start_daily_run(ctx: ContextDep, _caller: Service) -> s.DailyRunPublic:
    report = await run_daily(ctx)
    return s.DailyRunPublic(**vars(report))
