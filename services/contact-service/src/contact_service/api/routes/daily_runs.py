"""`POST /v1/daily-runs`: run today's strategies now (role service; a scheduler calls it)."""

from __future__ import annotations

from fastapi import APIRouter

from contact_service.api import schemas as s
from contact_service.api.deps import ContextDep, Service
from contact_service.daily import run_daily

router = APIRouter(prefix="/v1", tags=["daily run"])


@router.post(
    "/daily-runs",
    status_code=201,
    response_model=s.DailyRunPublic,
    summary="Decide today's contact tasks; each task is emitted once however often this runs",
)
async def start_daily_run(ctx: ContextDep, _caller: Service) -> s.DailyRunPublic:
    report = await run_daily(ctx)
    return s.DailyRunPublic(
        run_date=report.run_date,
        cases_seen=report.cases_seen,
        tasks_emitted=report.tasks_emitted,
        tasks_already_emitted=report.tasks_already_emitted,
        steps_forbidden=report.steps_forbidden,
        seconds=report.seconds,
    )
