"""Operational jobs exposed over HTTP for schedulers: the daily aging run."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from arrears.auth import Principal, require_roles
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from case_service.aging import run_daily_aging
from case_service.api.deps import CasesDep

router = APIRouter(tags=["jobs"])


class AgingRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = None


@router.post("/v1/aging-runs")
def run_aging(
    body: AgingRunCreate,
    cases: CasesDep,
    _: Annotated[Principal, Depends(require_roles("service"))],
) -> dict[str, Any]:
    """Age every open case to `as_of` (default: today). Safe to repeat for the same day."""
    return run_daily_aging(cases, body.as_of).as_dict()
