"""Case events -> the legal state of a case: a pure fold over JSON-ready dicts.

`apply(state, name, data)` reads `data` as the event's typed class (arrears.events, from the
catalogue's schemas) and folds it into the state; the projection stores it (jsonb) with
indexed columns derived from it. Being pure, replaying a case's history anywhere (after a
restart, in a rebuild, in a test) ends in the same state as processing it live.
Money stays a decimal string; dates are ISO strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from arrears.events import catalogue as ev
from arrears.events.lean import usual_missed
from arrears.events.types import CaseEventData

State = dict[str, Any]
Data = Mapping[str, Any]
Fold = Callable[[State, Data], None]
E = TypeVar("E", bound=CaseEventData)

DEMAND_KINDS = frozenset({"collection_notice", "demand_letter", "legal_notice"})
# Complaint categories that tell the legal team something about the borrower.
COMPLAINT_SIGNALS = {
    "deceased": "deceased",
    "bankrupt": "other_creditors",
    "insolvency": "other_creditors",
    "other_creditors": "other_creditors",
}
RECEIPT_OUTCOMES = frozenset({"right_party_contact", "delivered"})


def new_state(case_id: str) -> State:
    return {
        "case_id": case_id,
        "loan_id": None,
        "product": None,
        "currency": "CNY",
        "principal": "0.00",
        "paid_total": "0.00",
        "status": "open",
        "close_reason": None,
        "progress": "none",  # the legal stage while open
        "installments": {},
        "interruptions": [],
        "first_receipt_on": None,
        "last_receipt_on": None,
        "broken_promises": 0,
        "refusals": 0,
        "contact_lost": False,
        "moved_away": False,
        "signals": [],
        "guarantors": [],
        "guarantors_demanded": [],
        "collateral": None,
        "notices": [],
        "lawsuits": {},
        "docket_number": None,
        "court": None,
        "claim_amount": None,
        "preservation": None,
        "judgment": None,
        "enforcement": None,
        "written_off": None,
        "legal_costs": [],
    }


def _on(value: date | datetime) -> str:
    """An instant's UTC date, or a date, as ISO."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    return value.isoformat()


_CENT = Decimal("0.01")


def _money(value: Any) -> str:
    # A Decimal is already what Decimal(str(value)) would make: no round trip through text.
    return str((value if type(value) is Decimal else Decimal(str(value))).quantize(_CENT))


def _interrupt(
    s: State, on: str, kind: str, source: str, proof: Any, promise: bool = False
) -> None:
    entry = {"on": on, "kind": kind, "source": source, "proof": proof}
    if promise:
        entry["promise"] = True
    s["interruptions"].append(entry)


def _receipt(s: State, on: str) -> None:
    if s["first_receipt_on"] is None or on < s["first_receipt_on"]:
        s["first_receipt_on"] = on
    if s["last_receipt_on"] is None or on > s["last_receipt_on"]:
        s["last_receipt_on"] = on


def _signal(s: State, name: str) -> None:
    if name not in s["signals"]:
        s["signals"].append(name)
        s["signals"].sort()


def opened(s: State, d: ev.CaseOpened) -> None:
    s["loan_id"], s["product"] = d.loan_id, d.product
    s["currency"], s["principal"] = d.currency, _money(d.principal)
    s["guarantors"] = [str(g["id"]) for g in d.guarantors if "id" in g]
    collateral = d.collateral
    s["collateral"] = (
        {k: collateral[k] for k in ("type", "description", "value") if k in collateral}
        if collateral is not None
        else None
    )
    if collateral is not None and not s["collateral"]:
        s["collateral"] = {"type": "unspecified"}


def missed(s: State, d: ev.PaymentMissed) -> None:
    s["installments"][str(d.installment)] = {
        "due": d.due_date.isoformat(),
        "amount": _money(d.amount),
        "paid": "0.00",
    }


def paid(s: State, d: ev.PaymentReceived) -> None:
    s["paid_total"] = _money(Decimal(s["paid_total"]) + d.amount)
    for part in d.allocations:
        item = s["installments"].get(str(part["installment"]))
        if item is not None:
            item["paid"] = _money(Decimal(item["paid"]) + Decimal(str(part["amount"])))
    # Part payment, or a deduction from the borrower's account (SPC art. 8(3)); the
    # payment's reference in the bank's ledger is its proof.
    _interrupt(s, _on(d.paid_at), "part_payment", "PaymentReceived", d.reference)


def plan_agreed(s: State, d: ev.PaymentPlanAgreed) -> None:
    for key in d.superseded:
        s["installments"].pop(key, None)
    for item in d.installments:
        s["installments"][f"P{d.plan_number}-{item['number']}"] = {
            "due": str(item["due_date"]),
            "amount": _money(item["amount"]),
            "paid": "0.00",
        }
    proof = f"plan {d.plan_number} approved by {d.approved_by}"
    _interrupt(s, _on(d.agreed_at), "acknowledgement", "PaymentPlanAgreed", proof)


def promised(s: State, d: ev.PromiseToPayMade) -> None:
    proof = f"promise {d.promise_id}"
    _interrupt(s, _on(d.made_at), "acknowledgement", "PromiseToPayMade", proof, promise=True)


def broken(s: State, d: ev.PromiseBroken) -> None:
    del d
    s["broken_promises"] += 1


def attempted(s: State, d: ev.ContactAttempted) -> None:
    if d.outcome in RECEIPT_OUTCOMES:
        _receipt(s, _on(d.occurred_at))
    if d.outcome == "refused_to_pay":
        s["refusals"] += 1


def reminder(s: State, d: ev.ReminderSent) -> None:
    if d.proof:
        _receipt(s, _on(d.served_at))


def notice(s: State, d: ev.NoticeServed) -> None:
    on, proof = _on(d.served_at), d.proof
    s["notices"].append({"kind": d.kind, "on": on, "via": d.delivered_via})
    if proof:
        _receipt(s, on)
    if d.kind in DEMAND_KINDS:
        # Counts only with proof of delivery (the policy checks `proof`).
        _interrupt(s, on, "demand", "NoticeServed", proof)
        if s["progress"] == "none" and proof:
            s["progress"] = "demand_served"


def visited(s: State, d: ev.FieldVisitMade) -> None:
    if d.outcome == "moved_away":
        s["moved_away"] = True
        if s["contact_lost"]:
            _signal(s, "vanished")
    if d.outcome == "refused":
        s["refusals"] += 1
    if d.outcome == "met_borrower":
        _receipt(s, _on(d.visited_at))


def lost(s: State, d: ev.ContactLost) -> None:
    del d
    s["contact_lost"] = True
    if s["moved_away"]:
        _signal(s, "vanished")


def regained(s: State, d: ev.ContactRegained) -> None:
    del d
    s["contact_lost"], s["moved_away"] = False, False
    if "vanished" in s["signals"]:
        s["signals"].remove("vanished")


def complaint(s: State, d: ev.ComplaintReceived) -> None:
    found = COMPLAINT_SIGNALS.get(d.category.strip().lower())
    if found:
        _signal(s, found)


def guarantor_demanded(s: State, d: ev.GuarantorDemanded) -> None:
    if d.guarantor_id not in s["guarantors_demanded"]:
        s["guarantors_demanded"].append(d.guarantor_id)


def lawsuit(s: State, d: ev.LawsuitFiled) -> None:
    on, docket = _on(d.filed_at), d.docket_number
    s["lawsuits"][docket] = {
        "court": d.court,
        "claim_amount": _money(d.claim_amount),
        "filed_on": on,
        "status": "pending",
    }
    s["docket_number"], s["court"] = docket, d.court
    s["claim_amount"] = _money(d.claim_amount)
    s["progress"] = "lawsuit_filed"
    s["judgment"], s["enforcement"] = None, None
    _interrupt(s, on, "lawsuit", "LawsuitFiled", f"{d.court} {docket}")


def preservation(s: State, d: ev.AssetPreservationGranted) -> None:
    s["preservation"] = {
        "court_order_ref": d.court_order_ref,
        "docket_number": d.docket_number,
        "amount": _money(d.amount),
        "granted_on": _on(d.granted_at),
    }
    if s["progress"] in {"none", "demand_served", "lawsuit_filed"}:
        s["progress"] = "asset_preservation_granted"


def judgment(s: State, d: ev.JudgmentEntered) -> None:
    docket = d.docket_number
    s["judgment"] = {
        "docket_number": docket,
        "outcome": d.outcome,
        "awarded_amount": _money(d.awarded_amount),
        "entered_on": _on(d.entered_at),
    }
    if docket in s["lawsuits"]:
        s["lawsuits"][docket]["status"] = "judged"
    s["progress"] = "judgment"


def enforcement(s: State, d: ev.EnforcementStarted) -> None:
    s["enforcement"] = {
        "enforcement_ref": d.enforcement_ref,
        "docket_number": d.docket_number,
        "started_on": _on(d.started_at),
    }
    s["progress"] = "enforcement"


def cost_incurred(s: State, d: ev.LegalCostIncurred) -> None:
    # States folded before costs were case events lack the list.
    s.setdefault("legal_costs", []).append(
        {
            "kind": d.kind,
            "amount": _money(d.amount),
            "incurred_on": _on(d.incurred_on),
            "reference": d.reference,
        }
    )


def written_off(s: State, d: ev.WrittenOff) -> None:
    s["written_off"] = {
        "amount": _money(d.amount),
        "on": _on(d.written_off_at),
        "reason": d.reason,
    }


def closed(s: State, d: ev.CaseClosed) -> None:
    s["status"], s["close_reason"] = "closed", d.reason


def reopened(s: State, d: ev.CaseReopened) -> None:
    del d
    s["status"], s["close_reason"] = "open", None


def _typed(event: type[E], fold: Callable[[State, E], None]) -> tuple[str, Fold]:
    """The fold under its event's name, reading the raw data as that event's typed class
    (EventDataError, a ValueError, when it lacks what the catalogue promises)."""

    def run(state: State, data: Data) -> None:
        fold(state, event.read(data))

    return event.event_name, run


FOLDS: dict[str, Fold] = dict(
    (
        _typed(ev.CaseOpened, opened),
        _typed(ev.PaymentMissed, missed),
        _typed(ev.PaymentReceived, paid),
        _typed(ev.PaymentPlanAgreed, plan_agreed),
        _typed(ev.PromiseToPayMade, promised),
        _typed(ev.PromiseBroken, broken),
        _typed(ev.ContactAttempted, attempted),
        _typed(ev.ReminderSent, reminder),
        _typed(ev.NoticeServed, notice),
        _typed(ev.FieldVisitMade, visited),
        _typed(ev.ContactLost, lost),
        _typed(ev.ContactRegained, regained),
        _typed(ev.ComplaintReceived, complaint),
        _typed(ev.GuarantorDemanded, guarantor_demanded),
        _typed(ev.LawsuitFiled, lawsuit),
        _typed(ev.AssetPreservationGranted, preservation),
        _typed(ev.JudgmentEntered, judgment),
        _typed(ev.EnforcementStarted, enforcement),
        _typed(ev.LegalCostIncurred, cost_incurred),
        _typed(ev.WrittenOff, written_off),
        _typed(ev.CaseClosed, closed),
        _typed(ev.CaseReopened, reopened),
    )
)


def _lean_missed(typed: Fold) -> Fold:
    """PaymentMissed, most of the events a rebuild folds, read without its typed class when
    its data has the usual shape (building the frozen dataclass was most of the fold's cost);
    anything else, and any failure, goes to the typed read, which gives the answer or the
    error (tests/unit/legal_service/test_fold.py holds the two paths to each other)."""

    def run(state: State, data: Data) -> None:
        usual = usual_missed(data)
        if usual is not None:
            amount, due, number = usual
            try:
                entry = {
                    "due": date.fromisoformat(due).isoformat(),
                    "amount": _money(Decimal(amount)),
                    "paid": "0.00",
                }
            except (ValueError, ArithmeticError):
                pass  # the typed read names what is wrong
            else:
                state["installments"][str(number)] = entry
                return
        typed(state, data)

    return run


FOLDS[ev.PaymentMissed.event_name] = _lean_missed(FOLDS[ev.PaymentMissed.event_name])


def apply(state: State, name: str, data: Data) -> bool:
    """Fold one event into `state` in place; False when the event means nothing here."""
    fold = FOLDS.get(name)
    if fold is None:
        return False
    fold(state, data)
    return True


def stage(state: Mapping[str, Any]) -> str:
    if state["status"] == "closed":
        return "written_off" if state.get("close_reason") == "written_off" else "closed"
    return str(state["progress"])
