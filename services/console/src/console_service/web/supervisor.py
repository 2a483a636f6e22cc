"""`/dashboard`: the team's measures from contact-service (roll rates as a heat map), the
promises due today and broken yesterday, and lifting a contact restriction."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console_service.backends import BackendError
from console_service.web.core import ContextDep, FormDep, SessionDep, render, require, token

router = APIRouter()
BUCKETS = ("M0", "M1", "M2", "M3", "M4+")
RESTRICTIONS = (
    "do_not_contact",
    "cease_communication",
    "workplace_forbidden",
    "attorney",
    "deceased",
    "bankrupt",
    "opt_out",
)


def heat(rate: str | None) -> str:
    """A background colour for a roll rate: white at 0, deep red at 1."""
    if rate is None:
        return "#ffffff"
    share = max(0.0, min(1.0, float(rate)))
    fade = round(255 - share * 175)
    return f"rgb(255,{fade},{fade})"


def matrix(roll_rates: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "from": f,
            "cells": [
                {
                    "to": t,
                    "rate": (roll_rates.get(f, {}).get(t) or {}).get("rate"),
                    "count": (roll_rates.get(f, {}).get(t) or {}).get("count", 0),
                    "colour": heat((roll_rates.get(f, {}).get(t) or {}).get("rate")),
                }
                for t in BUCKETS
            ],
        }
        for f in BUCKETS
    ]


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    require(session.user, "dashboard")
    bearer = token(ctx, session)
    today = ctx.clock.now().date()
    errors: list[BackendError] = []
    arms: dict[str, Any] = {}
    due_today: list[dict[str, Any]] = []
    due_week: list[dict[str, Any]] = []
    broken_yesterday: list[dict[str, Any]] = []
    blocked: list[dict[str, Any]] = []
    try:
        arms = (await ctx.backends.contact.get("/v1/kpis", bearer)).get("by_arm", {})
        due = {"status": "open", "due_from": today.isoformat(), "due_to": today.isoformat()}
        due_today = (await ctx.backends.contact.get("/v1/promises", bearer, due))["items"]
        week = {
            "status": "open",
            "due_from": (today + timedelta(days=1)).isoformat(),
            "due_to": (today + timedelta(days=7)).isoformat(),
        }
        due_week = (await ctx.backends.contact.get("/v1/promises", bearer, week))["items"]
        broken = {"status": "broken", "resolved_on": (today - timedelta(days=1)).isoformat()}
        broken_yesterday = (await ctx.backends.contact.get("/v1/promises", bearer, broken))["items"]
    except BackendError as exc:
        errors.append(exc)
    return render(
        request,
        ctx,
        "dashboard.html",
        arms={arm: {**v, "matrix": matrix(v.get("roll_rates", {}))} for arm, v in arms.items()},
        buckets=BUCKETS,
        broken_yesterday=broken_yesterday,
        blocked=blocked,
        due_today=due_today,
        due_week=due_week,
        errors=errors,
        restrictions=RESTRICTIONS,
        notice=request.query_params.get("notice"),
    )


@router.post("/dashboard/restrictions")
async def lift_restriction(ctx: ContextDep, session: SessionDep, form: FormDep) -> Response:
    require(session.user, "dashboard")
    try:
        case_id = UUID(form.get("case_id", ""))
    except ValueError:
        return RedirectResponse("/dashboard?notice=bad-case-id", status_code=303)
    kind = form.get("kind", "")
    body: dict[str, Any] = {"kind": kind, "active": False}
    if form.get("note"):
        body["note"] = form["note"]
    try:
        await ctx.backends.contact.post(
            f"/v1/cases/{case_id}/contact-restrictions", token(ctx, session), body
        )
    except BackendError as exc:
        return RedirectResponse(f"/dashboard?notice=lift-refused-{exc.status}", status_code=303)
    return RedirectResponse("/dashboard?notice=lifted", status_code=303)
