"""A case as contact-service sees it (`GET /v1/cases/{case_id}/contact-view`), and contact
restrictions recorded here (`POST /v1/cases/{case_id}/contact-restrictions`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from arrears.business_date import business_date
from arrears.errors import Problem
from fastapi import APIRouter

from contact_service.api import schemas as s
from contact_service.api.deps import Collector, ConnDep, ContextDep, Reader, not_found
from contact_service.policy import guard
from contact_service.policy import model as m
from contact_service.readmodel import derive
from contact_service.readmodel import repository as repo

router = APIRouter(prefix="/v1/cases", tags=["cases"])
# Lifting a lasting restriction is a supervisor's decision; recording one is anyone's duty.
LIFT_ROLES = ("supervisor", "service")
CLOCK_SKEW = timedelta(minutes=5)


@router.get("/{case_id}/contact-view", summary="The case as contact-service sees it (masked)")
async def contact_view(
    case_id: UUID, ctx: ContextDep, conn: ConnDep, _caller: Reader
) -> dict[str, Any]:
    now = ctx.clock.now()
    inputs = (await repo.policy_inputs(conn, [str(case_id)], now)).get(str(case_id))
    if inputs is None:
        raise not_found(case_id)
    row = inputs.row
    business_day = business_date(now, ctx.settings.business_timezone)
    strategy = ctx.book.strategies.get(row["strategy"])
    profile = ctx.profile_of(row.get("jurisdiction"))
    return {
        "case_id": row["case_id"],
        "version": row["version"],
        "status": row["status"],
        "product": row["product"],
        "bucket": derive.bucket(row["oldest_due_on"], business_day),
        "bucket_entered_on": row["bucket_entered_on"].isoformat(),
        "days_past_due": derive.days_past_due(row["oldest_due_on"], business_day),
        "arrears": str(row["arrears"]),
        "currency": row["currency"],
        "risk_grade": row["risk_grade"],
        "timezone": row["timezone"],
        "candidate_timezones": row["candidate_timezones"],
        "contactability": row["contactability"],
        "flags": sorted(row["flags"]),
        "opted_out_channels": sorted(row["opted_out_channels"]),
        "in_dispute": row["in_dispute"],
        "open_complaints": len(row["open_complaints"]),
        "open_promise": (
            {
                "promise_id": row["open_promise_id"],
                "promised_date": row["open_promise_due"].isoformat(),
                "amount": str(row["open_promise_amount"]),
            }
            if row["open_promise_id"]
            else None
        ),
        "promises_kept": row["promises_kept"],
        "promises_broken": row["promises_broken"],
        "contact_points": [
            {
                "contact_point": p.get("masked") or m.mask_point(p["value"]),
                "party": p["party"],
                "kind": p["kind"],
                "state": p["state"],
            }
            for p in inputs.points
        ],
        "recent_attempts": [
            {
                "occurred_at": a.occurred_at.isoformat(),
                "channel": a.channel,
                "party": a.party,
                "contact_point": a.masked,
                "outcome": a.outcome,
                "inbound": a.inbound,
            }
            for a in inputs.history
        ],
        "strategy": {
            "name": row["strategy"],
            "version": strategy.version if strategy else None,
            "arm": row["arm"],
        },
        "priority": row["priority"],
        "blocked": row["blocked"],
        "jurisdiction": row.get("jurisdiction"),
        "profile": {"name": profile.name, "version": profile.version},
    }


@router.post(
    "/{case_id}/contact-restrictions",
    status_code=201,
    summary="Record (or, supervisors only, lift) a restriction on contact",
    responses={
        403: {"description": "lifting needs a supervisor"},
        404: {"description": "no such case"},
    },
)
async def restrict(
    case_id: UUID, body: s.RestrictionCreate, ctx: ContextDep, conn: ConnDep, caller: Collector
) -> dict[str, Any]:
    loosening = body.kind in m.LOOSENING_FLAGS
    lifting = (not body.active and not loosening) or body.kind == "point_valid"
    if lifting and not caller.has_any(LIFT_ROLES):
        raise Problem(403, "Forbidden", "only a supervisor may lift a restriction", field="active")
    if loosening and body.active and body.evidence is None:
        # A consent or a fact that loosens a rule is recorded only with its proof.
        raise Problem(
            422,
            "Unprocessable Content",
            f"{body.kind} needs evidence: a recording_ref or document_ref and when it was given",
            field="evidence",
        )
    if body.evidence is not None and body.evidence.given_at > ctx.clock.now() + CLOCK_SKEW:
        raise Problem(
            422, "Unprocessable Content", "must not be in the future", field="evidence.given_at"
        )
    row = await repo.get_case(conn, str(case_id))
    if row is None:
        raise not_found(case_id)
    if body.kind == "opt_out" and body.channel is None:
        raise Problem(422, "Unprocessable Content", "an opt-out names its channel", field="channel")
    if body.kind in repo.POINT_KINDS and body.contact_point is None:
        raise Problem(422, "Unprocessable Content", "name the contact point", field="contact_point")
    found = await repo.apply_restriction(
        conn, str(case_id), body.kind, body.active, body.channel, body.contact_point
    )
    if not found:
        raise Problem(404, "Not Found", "no such contact point on this case", field="contact_point")
    await repo.log_restriction(
        conn,
        {
            "case_id": str(case_id),
            "kind": body.kind,
            "active": body.active,
            "channel": body.channel,
            "contact_point": m.point_key(body.contact_point) if body.contact_point else None,
            "recorded_by": caller.subject,
            "recorded_at": ctx.clock.now(),
            "note": body.note,
            "evidence": body.evidence.model_dump(mode="json") if body.evidence else None,
        },
    )
    row = await repo.get_case(conn, str(case_id))
    assert row is not None
    blocked = derive.blocked(row, ctx.profile_of(row.get("jurisdiction")))
    await repo.refresh_derived(
        conn, row, blocked, guard.local_date(ctx.clock.now(), row["timezone"])
    )
    return {"case_id": str(case_id), "kind": body.kind, "active": body.active, "blocked": blocked}
