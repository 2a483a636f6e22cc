"""`/dashboard`: the team's measures from contact-service (roll rates as a heat map), the
promises due today and broken yesterday, and lifting a contact restriction."""

from __future__ import annotations

import asyncio
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
    week = (today + timedelta(days=1), today + timedelta(days=7))
    calls = {
        "kpis": ("/v1/kpis", {}),
        "due_today": (
            "/v1/promises",
            {"status": "open", "due_from": today.isoformat(), "due_to": today.isoformat()},
        ),
        "due_week": (
            "/v1/promises",
            {"status": "open", "due_from": week[0].isoformat(), "due_to": week[1].isoformat()},
        ),
        "broken": (
            "/v1/promises",
            {"status": "broken", "resolved_on": (today - timedelta(days=1)).isoformat()},
        ),
        "blocked": ("/v1/blocked-cases", {}),
        "placed": ("/v1/agency-placements", {}),
    }
    # One call each, at once; a part that fails is named on the page and the rest still show.
    answers = await asyncio.gather(
        *(ctx.backends.contact.get(path, bearer, query) for path, query in calls.values()),
        return_exceptions=True,
    )
    got: dict[str, Any] = {}
    errors: list[BackendError] = []
    for name, answer in zip(calls, answers, strict=True):
        if isinstance(answer, BackendError):
            errors.append(answer)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            got[name] = answer
    errors = list({e.detail: e for e in errors}.values())  # one line per distinct failure
    arms: dict[str, Any] = got.get("kpis", {}).get("by_arm", {})
    due_today = got.get("due_today", {}).get("items", [])
    due_week = got.get("due_week", {}).get("items", [])
    broken_yesterday = got.get("broken", {}).get("items", [])
    blocked = got.get("blocked", {}).get("items", [])
    placed = got.get("placed", {}).get("items", [])
    return render(
        request,
        ctx,
        "dashboard.html",
        arms={arm: {**v, "matrix": matrix(v.get("roll_rates", {}))} for arm, v in arms.items()},
        buckets=BUCKETS,
        broken_yesterday=broken_yesterday,
        blocked=blocked,
        placed=placed,
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
