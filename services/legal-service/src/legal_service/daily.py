"""The daily run: every open case through the legal policy; each recommended task emitted
once (stable ids), however often it runs. `POST /v1/daily-runs` and
`python -m legal_service daily-run` call it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from legal_service.context import Context
from legal_service.policy.recommend import REFER_TO_LEGAL, recommend
from legal_service.readmodel import repository as repo
from legal_service.readmodel.view import to_view
from legal_service.tasks import emit_once, task_for


@dataclass
class DailyReport:
    run_date: str
    cases_seen: int = 0
    tasks_emitted: int = 0
    tasks_already_emitted: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def run_daily(ctx: Context) -> DailyReport:
    started = time.perf_counter()
    now = ctx.clock.now()
    today = ctx.today()
    report = DailyReport(run_date=today.isoformat())
    after = ""
    while True:
        async with ctx.engine.begin() as conn:
            page = await repo.open_cases(conn, after, ctx.settings.daily_run_batch)
            if not page:
                break
            local = await repo.locals_for(conn, [c for c, _ in page])
            for case_id, state in page:
                report.cases_seen += 1
                view = to_view(state, local[case_id])
                for rec in recommend(view, today, ctx.policy):
                    task = task_for(case_id, rec, now)
                    if await emit_once(conn, task, ctx.emit):
                        report.tasks_emitted += 1
                        report.by_type[rec.kind] = report.by_type.get(rec.kind, 0) + 1
                        if rec.kind == REFER_TO_LEGAL:
                            await repo.assign(conn, case_id, now, referred_on=today)
                    else:
                        report.tasks_already_emitted += 1
            after = page[-1][0]
    report.seconds = round(time.perf_counter() - started, 3)
    return report
