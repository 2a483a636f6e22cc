"""`/legal`: legal-service's pipeline by stage with each case's cost-benefit and today's
recommendations, and the limitation deadlines within 30 and 90 days."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from console_service.backends import BackendError
from console_service.web.core import ContextDep, SessionDep, render, require, token

router = APIRouter()
STAGES = (
    "demand_served",
    "referred_to_legal",
    "lawsuit_filed",
    "asset_preservation_granted",
    "judgment",
    "enforcement",
    "closed",
    "written_off",
)

PAGE = 50


async def _legal_file(ctx: ContextDep, bearer: str, case_id: str) -> dict[str, Any] | None:
    """The case's legal file: its cost-benefit and today's recommendations."""
    try:
        found: dict[str, Any] = await ctx.backends.legal.get(f"/v1/legal/cases/{case_id}", bearer)
    except BackendError:
        return None
    return found


@router.get("/legal", response_class=HTMLResponse)
async def legal_page(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    stage: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    require(session.user, "legal")
    bearer = token(ctx, session)
    errors: list[BackendError] = []
    pipeline: list[dict[str, Any]] = []
    within: dict[int, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": PAGE}
    if stage in STAGES:
        params["stage"] = stage
    try:
        pipeline = (await ctx.backends.legal.get("/v1/legal/pipeline", bearer, params))["items"]
        for days in (30, 90):
            within[days] = await ctx.backends.legal.get(
                "/v1/legal/limitations", bearer, {"expiring_within": f"{days}d", "limit": 100}
            )
    except BackendError as exc:
        errors.append(exc)
    files = await asyncio.gather(*(_legal_file(ctx, bearer, i["case_id"]) for i in pipeline))
    pipeline = [{**item, "file": file} for item, file in zip(pipeline, files, strict=True)]
    by_stage: dict[str, int] = {}
    for item in pipeline:
        by_stage[item["stage"]] = by_stage.get(item["stage"], 0) + 1
    return render(
        request,
        ctx,
        "legal.html",
        stage=stage,
        stages=STAGES,
        pipeline=pipeline,
        by_stage=by_stage,
        within=within,
        errors=errors,
    )
