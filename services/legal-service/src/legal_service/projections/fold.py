"""Case events -> the legal state of a case: a pure fold over JSON-ready dicts.

`apply(state, name, data)` returns the new state; the projection stores it (jsonb) with
indexed columns derived from it. Being pure, replaying a case's history anywhere (after a
restart, in a rebuild, in a test) ends in the same state as processing it live.
Money stays a decimal string; dates are ISO strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

State = dict[str, Any]
Data = Mapping[str, Any]

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
    }


def _day(value: Any) -> str:
    """An ISO instant or date -> the UTC date, ISO."""
    text = str(value)
    if len(text) == 10:
        return text
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).date().isoformat()


def _money(value: Any) -> str:
    return str(Decimal(str(value)).quantize(Decimal("0.01")))


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


def opened(s: State, d: Data) -> None:
    s["loan_id"], s["product"] = d.get("loan_id"), d.get("product")
    s["currency"], s["principal"] = d.get("currency", "CNY"), _money(d.get("principal", "0"))
    s["guarantors"] = [str(g["id"]) for g in d.get("guarantors") or [] if "id" in g]
    collateral = d.get("collateral")
    s["collateral"] = (
        {k: collateral[k] for k in ("type", "description", "value") if k in collateral}
        if isinstance(collateral, Mapping)
        else None
    )
    if isinstance(collateral, Mapping) and not s["collateral"]:
        s["collateral"] = {"type": "unspecified"}


def missed(s: State, d: Data) -> None:
    s["installments"][str(d["installment"])] = {
        "due": str(d["due_date"]),
        "amount": _money(d["amount"]),
        "paid": "0.00",
    }


def paid(s: State, d: Data) -> None:
    s["paid_total"] = _money(Decimal(s["paid_total"]) + Decimal(str(d["amount"])))
    for part in d.get("allocations") or []:
        item = s["installments"].get(str(part["installment"]))
        if item is not None:
            item["paid"] = _money(Decimal(item["paid"]) + Decimal(str(part["amount"])))
    # Part payment, or a deduction from the borrower's account (SPC art. 8(3)); the
    # payment's reference in the bank's ledger is its proof.
    _interrupt(s, _day(d["paid_at"]), "part_payment", "PaymentReceived", d.get("reference"))


def plan_agreed(s: State, d: Data) -> None:
    for key in d.get("superseded") or []:
        s["installments"].pop(str(key), None)
    for item in d.get("installments") or []:
        s["installments"][f"P{d['plan_number']}-{item['number']}"] = {
            "due": str(item["due_date"]),
            "amount": _money(item["amount"]),
            "paid": "0.00",
        }
    proof = f"plan {d.get('plan_number')} approved by {d.get('approved_by')}"
    _interrupt(s, _day(d["agreed_at"]), "acknowledgement", "PaymentPlanAgreed", proof)


def promised(s: State, d: Data) -> None:
    proof = f"promise {d.get('promise_id')}"
    _interrupt(s, _day(d["made_at"]), "acknowledgement", "PromiseToPayMade", proof, promise=True)


def broken(s: State, d: Data) -> None:
    del d
    s["broken_promises"] += 1


def attempted(s: State, d: Data) -> None:
    outcome = d.get("outcome")
    if outcome in RECEIPT_OUTCOMES:
        _receipt(s, _day(d["occurred_at"]))
    if outcome == "refused_to_pay":
        s["refusals"] += 1


def reminder(s: State, d: Data) -> None:
    if d.get("proof"):
        _receipt(s, _day(d["served_at"]))


def notice(s: State, d: Data) -> None:
    on, proof = _day(d["served_at"]), d.get("proof")
    s["notices"].append({"kind": d.get("kind"), "on": on, "via": d.get("delivered_via")})
    if proof:
        _receipt(s, on)
    if d.get("kind") in DEMAND_KINDS:
        # Counts only with proof of delivery (the policy checks `proof`).
        _interrupt(s, on, "demand", "NoticeServed", proof)
        if s["progress"] == "none" and proof:
            s["progress"] = "demand_served"


def visited(s: State, d: Data) -> None:
    if d.get("outcome") == "moved_away":
        s["moved_away"] = True
        if s["contact_lost"]:
            _signal(s, "vanished")
    if d.get("outcome") == "refused":
        s["refusals"] += 1
    if d.get("outcome") == "met_borrower":
        _receipt(s, _day(d["visited_at"]))


def lost(s: State, d: Data) -> None:
    del d
    s["contact_lost"] = True
    if s["moved_away"]:
        _signal(s, "vanished")


def regained(s: State, d: Data) -> None:
    del d
    s["contact_lost"], s["moved_away"] = False, False
    if "vanished" in s["signals"]:
        s["signals"].remove("vanished")


def complaint(s: State, d: Data) -> None:
    found = COMPLAINT_SIGNALS.get(str(d.get("category", "")).strip().lower())
    if found:
        _signal(s, found)


def guarantor_demanded(s: State, d: Data) -> None:
    if d["guarantor_id"] not in s["guarantors_demanded"]:
        s["guarantors_demanded"].append(str(d["guarantor_id"]))


def lawsuit(s: State, d: Data) -> None:
    on, docket = _day(d["filed_at"]), str(d["docket_number"])
    s["lawsuits"][docket] = {
        "court": d["court"],
        "claim_amount": _money(d["claim_amount"]),
        "filed_on": on,
        "status": "pending",
    }
    s["docket_number"], s["court"] = docket, d["court"]
    s["claim_amount"] = _money(d["claim_amount"])
    s["progress"] = "lawsuit_filed"
    s["judgment"], s["enforcement"] = None, None
    _interrupt(s, on, "lawsuit", "LawsuitFiled", f"{d['court']} {docket}")


def preservation(s: State, d: Data) -> None:
    s["preservation"] = {
        "court_order_ref": d["court_order_ref"],
        "docket_number": d.get("docket_number"),
        "amount": _money(d["amount"]),
        "granted_on": _day(d["granted_at"]),
    }
    if s["progress"] in {"none", "demand_served", "lawsuit_filed"}:
        s["progress"] = "asset_preservation_granted"


def judgment(s: State, d: Data) -> None:
    docket = str(d["docket_number"])
    s["judgment"] = {
        "docket_number": docket,
        "outcome": d["outcome"],
        "awarded_amount": _money(d["awarded_amount"]),
        "entered_on": _day(d["entered_at"]),
    }
    if docket in s["lawsuits"]:
        s["lawsuits"][docket]["status"] = "judged"
    s["progress"] = "judgment"


def enforcement(s: State, d: Data) -> None:
    s["enforcement"] = {
        "enforcement_ref": d["enforcement_ref"],
        "docket_number": d.get("docket_number"),
        "started_on": _day(d["started_at"]),
    }
    s["progress"] = "enforcement"


def written_off(s: State, d: Data) -> None:
    s["written_off"] = {
        "amount": _money(d["amount"]),
        "on": _day(d["written_off_at"]),
        "reason": d.get("reason"),
    }


def closed(s: State, d: Data) -> None:
    s["status"], s["close_reason"] = "closed", d.get("reason")


def reopened(s: State, d: Data) -> None:
    del d
    s["status"], s["close_reason"] = "open", None


FOLDS: dict[str, Callable[[State, Data], None]] = {
    "CaseOpened": opened,
    "PaymentMissed": missed,
    "PaymentReceived": paid,
    "PaymentPlanAgreed": plan_agreed,
    "PromiseToPayMade": promised,
    "PromiseBroken": broken,
    "ContactAttempted": attempted,
    "ReminderSent": reminder,
    "NoticeServed": notice,
    "FieldVisitMade": visited,
    "ContactLost": lost,
    "ContactRegained": regained,
    "ComplaintReceived": complaint,
    "GuarantorDemanded": guarantor_demanded,
    "LawsuitFiled": lawsuit,
    "AssetPreservationGranted": preservation,
    "JudgmentEntered": judgment,
    "EnforcementStarted": enforcement,
    "WrittenOff": written_off,
    "CaseClosed": closed,
    "CaseReopened": reopened,
}


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
