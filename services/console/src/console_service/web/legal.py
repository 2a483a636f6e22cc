"""`/legal`: legal-service's pipeline by stage and the limitation deadlines within 30 and 90
days."""

from __future__ import annotations

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
    params: dict[str, Any] = {"limit": 100}
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
