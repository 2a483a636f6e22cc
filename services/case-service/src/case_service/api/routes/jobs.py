"""Operational jobs exposed over HTTP for schedulers: the daily aging run."""

from __future__ import annotations

from typing import Annotated, Any

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from arrears.input import BusinessDate
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from case_service.aging import run_daily_aging
from case_service.aging_days import AgingDayRefused
from case_service.api.deps import CasesDep

router = APIRouter(tags=["jobs"])


class AgingRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: BusinessDate | None = None


@router.post("/v1/aging-runs")
def run_aging(
    body: AgingRunCreate,
    cases: CasesDep,
    _: Annotated[Principal, Depends(require_roles("service"))],
) -> dict[str, Any]:
    """Age every open case to `as_of` (default: today). Safe to repeat for the same day;
    refused (422) for a day after today or before the last day already aged to."""
    try:
        return run_daily_aging(cases, body.as_of).as_dict()
    except AgingDayRefused as exc:
        raise Problem(422, "Unprocessable Content", f"as_of {exc}", field="as_of") from None
