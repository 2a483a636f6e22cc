"""Building the policy's CaseView from a case's folded state and legal-service's own records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from legal_service.policy.limitation import clock_from
from legal_service.policy.model import (
    CaseView,
    EnforcementOutcome,
    Installment,
    Interruption,
)
from legal_service.policy.thresholds import LegalPolicy
from legal_service.projections.fold import stage as folded_stage


@dataclass
class Local:
    """What legal-service itself holds about a case (not in the case events)."""

    officer: str | None = None
    referred_on: date | None = None
    enforcement_outcome: EnforcementOutcome | None = None
    signals: frozenset[str] = field(default_factory=frozenset)


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def oldest_unpaid_due(state: Mapping[str, Any]) -> date | None:
    """The due date of the oldest installment not paid in full (`CaseView.oldest_due_on`)."""
    oldest: date | None = None
    for item in state["installments"].values():  # a loop: once per case per batch written
        if Decimal(item["amount"]) - Decimal(item["paid"]) > 0:
            due = date.fromisoformat(item["due"])
            if oldest is None or due < oldest:
                oldest = due
    return oldest


def interruptions(state: Mapping[str, Any]) -> tuple[Interruption, ...]:
    return tuple(
        Interruption(
            on=date.fromisoformat(i["on"]),
            kind=i["kind"],
            source=i["source"],
            proof=i.get("proof"),
            promise=bool(i.get("promise")),
        )
        for i in state["interruptions"]
    )


def installments(state: Mapping[str, Any]) -> tuple[Installment, ...]:
    found = []
    for item in state["installments"].values():
        open_amount = Decimal(item["amount"]) - Decimal(item["paid"])
        if open_amount > 0:
            found.append(Installment(date.fromisoformat(item["due"]), open_amount))
    return tuple(sorted(found, key=lambda i: i.due_on))


def outstanding(state: Mapping[str, Any]) -> Decimal:
    value = Decimal(state["principal"]) - Decimal(state["paid_total"])
    if state.get("written_off"):
        value = Decimal(0)
    return max(value, Decimal(0)).quantize(Decimal("0.01"))


def legal_costs(state: Mapping[str, Any]) -> Decimal:
    """The costs the case's history records (LegalCostIncurred): the authoritative figure.
    legal-service's own rows (lg_costs) are the requests that led to them, not added again."""
    return sum((Decimal(c["amount"]) for c in state.get("legal_costs") or ()), Decimal(0))


def effective_stage(event_stage: str, referred_on: date | None) -> str:
    if event_stage in {"none", "demand_served"} and referred_on is not None:
        return "referred_to_legal"
    return event_stage


def to_view(state: Mapping[str, Any], local: Local | None = None) -> CaseView:
    local = local or Local()
    judgment = state.get("judgment") or {}
    return CaseView(
        case_id=str(state["case_id"]),
        currency=str(state["currency"]),
        principal=Decimal(state["principal"]),
        outstanding=outstanding(state),
        status=str(state["status"]),
        stage=effective_stage(folded_stage(state), local.referred_on),
        installments=installments(state),
        interruptions=interruptions(state),
        first_receipt_on=_date(state.get("first_receipt_on")),
        last_receipt_on=_date(state.get("last_receipt_on")),
        broken_promises=int(state.get("broken_promises", 0)),
        refusals=int(state.get("refusals", 0)),
        contact_lost=bool(state.get("contact_lost")),
        signals=frozenset(state.get("signals") or ()) | local.signals,
        guarantors=tuple(state.get("guarantors") or ()),
        guarantors_demanded=frozenset(state.get("guarantors_demanded") or ()),
        collateral=bool(state.get("collateral")),
        claim_amount=Decimal(state["claim_amount"]) if state.get("claim_amount") else None,
        preservation_granted=bool(state.get("preservation")),
        judgment_outcome=judgment.get("outcome"),
        enforcement_started=bool(state.get("enforcement")),
        enforcement_outcome=local.enforcement_outcome,
        legal_costs=legal_costs(state),
    )


def columns(state: Mapping[str, Any], policy: LegalPolicy) -> dict[str, Any]:
    """The indexed columns of lg_cases, derived from the state: what `to_view` and `clock`
    give for them, without building the whole view (a view per case per batch was most of
    the projection's own work in a rebuild)."""
    start = oldest_unpaid_due(state)
    limit = clock_from(start, interruptions(state), policy)
    return {
        "loan_id": state.get("loan_id"),
        "currency": state["currency"],
        "principal": Decimal(state["principal"]),
        "outstanding": outstanding(state),
        "status": state["status"],
        "stage": folded_stage(state),
        "court": state.get("court"),
        "docket_number": state.get("docket_number"),
        "claim_amount": Decimal(state["claim_amount"]) if state.get("claim_amount") else None,
        "oldest_due_on": start,
        "limitation_runs_from": limit.runs_from,
        "limitation_expires_on": limit.expires_on,
        "has_guarantors": bool(state.get("guarantors")),
        "has_collateral": bool(state.get("collateral")),
    }
