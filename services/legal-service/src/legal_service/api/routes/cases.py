"""`GET /v1/legal/cases/{case_id}`: the legal file of one case - stage, claims, guarantors
and collateral, the limitation clock with every interruption, effective-collection evidence,
cost-benefit, today's recommendations and the tasks emitted. `PUT .../officer` assigns it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from legal_service.api import schemas as s
from legal_service.api.deps import ConnDep, ContextDep, Reader, Supervisor, not_found
from legal_service.policy import limitation
from legal_service.policy.collection import effective_collection
from legal_service.policy.costs import cost_benefit
from legal_service.policy.recommend import recommend
from legal_service.readmodel import repository as repo
from legal_service.readmodel.view import to_view

router = APIRouter(prefix="/v1/legal/cases", tags=["cases"])


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


@router.get(
    "/{case_id}",
    response_model=s.LegalCasePublic,
    summary="The legal file of a case, with today's recommendations",
    responses={404: {"description": "no such case"}},
)
async def legal_case(
    case_id: UUID, ctx: ContextDep, conn: ConnDep, _caller: Reader
) -> dict[str, Any]:
    state = await repo.case_state(conn, str(case_id))
    if state is None:
        raise not_found(case_id)
    local = (await repo.locals_for(conn, [str(case_id)]))[str(case_id)]
    view = to_view(state, local)
    policy, today = ctx.policy, ctx.today()
    clock = limitation.clock(view, policy)
    alert = limitation.alert(view, today, policy)
    evidence = effective_collection(view, policy)
    currency = view.currency
    return {
        "case_id": str(case_id),
        "loan_id": state.get("loan_id"),
        "version": state.get("_version"),
        "status": view.status,
        "stage": view.stage,
        "officer": local.officer,
        "referred_on": _iso(local.referred_on),
        "days_past_due": view.days_past_due(today),
        "bucket": view.bucket(today),
        "arrears": {"amount": str(view.arrears(today)), "currency": currency},
        "outstanding": {"amount": str(view.outstanding), "currency": currency},
        "guarantors": [
            {"id": g, "demanded": g in view.guarantors_demanded} for g in view.guarantors
        ],
        "collateral": state.get("collateral"),
        "lawsuits": state.get("lawsuits"),
        "court": state.get("court"),
        "docket_number": state.get("docket_number"),
        "claim_amount": {"amount": state["claim_amount"], "currency": currency}
        if state.get("claim_amount")
        else None,
        "asset_preservation": state.get("preservation"),
        "judgment": state.get("judgment"),
        "enforcement": state.get("enforcement"),
        "enforcement_outcome": {
            "outcome": local.enforcement_outcome.outcome,
            "recovered_amount": str(local.enforcement_outcome.recovered),
            "ended_on": local.enforcement_outcome.ended_on.isoformat(),
        }
        if local.enforcement_outcome
        else None,
        "signals": sorted(view.signals),
        "limitation": {
            "years": policy.limitation_years,
            "started_on": _iso(clock.started_on),
            "runs_from": _iso(clock.runs_from),
            "expires_on": _iso(clock.expires_on),
            "days_left": clock.days_left(today),
            "expired": limitation.expired(view, today, policy),
            "alert_band_days": alert.threshold if alert else None,
            "interruptions": [
                {**i.to_dict(), "counts": limitation.counts(i, policy)} for i in view.interruptions
            ],
        },
        "effective_collection": {
            "evidenced": evidence.evidenced,
            "first_receipt_on": _iso(evidence.first_receipt_on),
            "last_receipt_on": _iso(evidence.last_receipt_on),
            "gap_days": evidence.gap_days,
            "required_gap_days": policy.effective_collection_gap_days,
        },
        "cost_benefit": cost_benefit(view, today, policy).to_dict(),
        # From the case's history (authoritative): a cost queued here shows once recorded.
        "legal_costs": [{**c, "currency": currency} for c in state.get("legal_costs") or ()],
        "recommendations": [r.to_dict() for r in recommend(view, today, policy)],
        "tasks": [
            {
                "task_id": t["task_id"],
                "task_type": t["task_type"],
                "reason": t["reason"],
                "emitted_at": t["emitted_at"].isoformat(),
            }
            for t in await repo.tasks_of(conn, str(case_id))
        ],
    }


@router.put("/{case_id}/officer", status_code=204, summary="Assign the case to a legal officer")
async def assign_officer(
    case_id: UUID, body: s.AssignmentUpdate, ctx: ContextDep, conn: ConnDep, _caller: Supervisor
) -> None:
    if await repo.case_state(conn, str(case_id)) is None:
        raise not_found(case_id)
    await repo.assign(conn, str(case_id), ctx.clock.now(), officer=body.officer)
