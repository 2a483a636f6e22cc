"""The collection department's default ladder (DESIGN §2), applied to one simulated loan.

M1: an SMS on the first day, an app reminder, a call every third day. M2: a call a day, a
written collection notice. M3: two calls a day on different numbers and times, a demand
letter, a field visit. M4+: a call every third day, a legal notice, then for balances worth
it a lawsuit, judgment, enforcement; small or hopeless balances are written off.
Calls rotate numbers and times of day, so an unreachable borrower meets the 3:3:3 rule.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from arrears_dev.simulator import borrowers as b
from arrears_dev.simulator.model import Action, DayPlan, Loan, Promise, bucket_of

# (hour, minute) UTC of the three call slots: 09:30, 14:15 and 19:00 in Shanghai.
SLOTS = ((1, 30), (6, 15), (11, 0))
CONNECTED = ("right_party_contact", "third_party_contact", "refused_to_pay")
SUIT_MIN_BALANCE = 20_000_00  # fen: below this a lawsuit costs more than it recovers
COURTS = ("Huangpu District People's Court", "Chaoyang District People's Court")


def collect(loan: Loan, day: date, today: date, plan: DayPlan) -> None:
    if loan.complaint_due is not None and day >= loan.complaint_due:
        loan.complaint_due = None
        _resolve_complaint(loan, day, plan)
    if loan.disputed_until is not None and day <= loan.disputed_until:
        return  # contacts pause while the dispute is looked into
    dpd = loan.dpd(day)
    bucket = bucket_of(dpd)
    if bucket == "M0":
        return  # nothing is overdue (yet): nobody calls
    done = loan.legal
    if bucket == "M1" and "sms" not in done:
        done["sms"] = day
        _attempt(loan, day, plan, "sms", 0, SLOTS[0], "delivered")
    if bucket == "M1":
        if dpd >= 3 and "reminder" not in done:
            done["reminder"] = day
            _notice(loan, day, plan, "reminder", "app_push", "collector")
        if dpd % 3 == 0:
            _call(loan, day, today, plan, dpd // 3)
    elif bucket == "M2":
        if "collection_notice" not in done:
            done["collection_notice"] = day
            _notice(loan, day, plan, "collection_notice", "letter", "collector")
        _call(loan, day, today, plan, dpd)
    elif bucket == "M3":
        if "demand_letter" not in done:
            done["demand_letter"] = day
            _notice(loan, day, plan, "demand_letter", "courier", "collector")
        _call(loan, day, today, plan, dpd)
        _call(loan, day, today, plan, dpd + 1)
        if dpd >= 75 and "visit" not in done:
            done["visit"] = day
            _visit(loan, day, plan)
    else:
        if dpd % 3 == 0:
            _call(loan, day, today, plan, dpd // 3)
        _legal(loan, day, dpd, plan)


def _attempt(
    loan: Loan,
    day: date,
    plan: DayPlan,
    channel: str,
    phone_index: int,
    slot: tuple[int, int],
    outcome: str,
) -> None:
    phones = loan.open_body["borrower"]["phones"]
    phone = phones[phone_index % len(phones)]
    body: dict[str, Any] = {
        "channel": channel,
        "party": phone["owner"],
        "contact_point": phone["number"],
        "outcome": outcome,
        "occurred_at": loan.at(day, *slot),
        "agent_id": f"agent-{loan.index % 40:02d}",
    }
    key = loan.key("contact")
    if channel == "call" and outcome in CONNECTED:
        body["recording_ref"] = f"REC-{key}"
    # A third party is called only to locate the borrower (contact-service's guard checks).
    extra = {"purpose": "locate"} if phone["owner"] != "borrower" else {}
    loan.note(f"contact_{outcome}")
    plan.actions.append(
        Action("contact", "collector", "contact-attempts", body, key, "contact", extra=extra)
    )


def _call(loan: Loan, day: date, today: date, plan: DayPlan, turn: int) -> None:
    """One call on the number and time slot this turn points at, and what follows from it."""
    phones = loan.open_body["borrower"]["phones"]
    # Third parties are called only to locate a borrower who cannot be reached (the guard
    # refuses them otherwise): the borrower's own numbers first, all numbers when hopeless.
    usable = [
        n
        for n, phone in enumerate(phones)
        if phone["owner"] == "borrower" or loan.profile.name == "unreachable"
    ]
    index = usable[turn % len(usable)]
    owner = phones[index]["owner"]
    reached = loan.rng.random() < loan.profile.reach
    if not reached:
        hopeless = loan.profile.name == "unreachable"
        outcome = loan.rng.choice(
            ("wrong_number", "disconnected", "no_answer") if hopeless else ("no_answer", "busy")
        )
        _attempt(loan, day, plan, "call", index, SLOTS[turn % 3], outcome)
        return
    if owner != "borrower":
        _attempt(loan, day, plan, "call", index, SLOTS[turn % 3], "third_party_contact")
        return
    refuses = loan.rng.random() < (0.3 if loan.profile.name == "strategic" else 0.05)
    outcome = "refused_to_pay" if refuses else "right_party_contact"
    _attempt(loan, day, plan, "call", index, SLOTS[turn % 3], outcome)
    loan.last_call = loan.at(day, *SLOTS[turn % 3])
    if refuses:
        return
    if loan.profile.name == "disputer" and "dispute" not in loan.legal:
        _dispute(loan, day, plan)
        return
    if (
        loan.promise is None
        and not loan.promise_blocked
        and loan.rng.random() < loan.profile.promise
    ):
        _promise(loan, day, today, plan)


def _promise(loan: Loan, day: date, today: date, plan: DayPlan) -> None:
    arrears = loan.arrears()
    if arrears <= 0:
        return
    amount = arrears if loan.profile.name != "struggling" else min(arrears, loan.installment)
    pay_on = day + timedelta(days=loan.rng.randint(2, 10))
    keep = loan.rng.random() < loan.profile.keep
    # case-service judges the promised date against its own today: the simulated day on a
    # file clock; otherwise the real today, and a promise made in the simulated past is dated
    # after it.
    promised = max(pay_on, today + timedelta(days=1))
    body = {"amount": b.money(amount), "promised_date": promised.isoformat()}
    # contact-service checks the call the promise was made in; case-service stamps its own.
    extra = {"made_at": loan.last_call}
    key = loan.key("ptp")
    plan.actions.append(
        Action("promise", "collector", "promises", body, key, "contact", extra=extra)
    )
    loan.note("promises_made")
    if pay_on <= loan.until:
        loan.promise = Promise(amount, pay_on, keep)
    else:
        loan.note("promises_pending")
        loan.promise_blocked = True


def _dispute(loan: Loan, day: date, plan: DayPlan) -> None:
    loan.legal["dispute"] = day
    loan.disputed_until = day + timedelta(days=14)
    loan.note("disputes")
    body = {"reason": "borrower disputes the amount owed", "raised_at": loan.at(day, 7, 0)}
    plan.actions.append(Action("dispute", "collector", "disputes", body, loan.key("dispute")))
    if loan.rng.random() < 0.4 and loan.complaint_due is None:
        loan.note("complaints")
        # A borrower may complain again in a later dispute: each complaint has its own id.
        complaint = f"CMP-{loan.loan_id}-{loan.stats['complaints']}"
        loan.complaint_id = complaint
        loan.complaint_due = day + timedelta(days=loan.rng.randint(3, 10))
        body = {
            "complaint_id": complaint,
            "channel": "hotline",
            "category": "amount_disputed",
            "description": "says the last installment was paid in cash at the branch",
            "received_at": loan.at(day, 7, 10),
        }
        plan.actions.append(Action("complaint", "collector", "complaints", body, loan.key("cmp")))


def _resolve_complaint(loan: Loan, day: date, plan: DayPlan) -> None:
    path = f"complaints/{loan.complaint_id}/resolutions"
    body = {"resolution": "branch ledger checked; no cash payment", "resolved_at": loan.at(day, 8)}
    plan.actions.append(Action("complaint_resolution", "supervisor", path, body, loan.key("res")))


def _notice(loan: Loan, day: date, plan: DayPlan, kind: str, via: str, role: str) -> None:
    key = loan.key("notice")
    body = {"kind": kind, "delivered_via": via, "served_at": loan.at(day, 3), "proof": f"P-{key}"}
    route = "legal" if role == "legal" else "case"
    plan.actions.append(Action("notice", role, "notices", body, key, route))
    loan.note(f"notice_{kind}")


def _visit(loan: Loan, day: date, plan: DayPlan) -> None:
    hopeless = loan.profile.name == "unreachable"
    outcome = "moved_away" if hopeless else loan.rng.choice(("met_borrower", "nobody_home"))
    body = {
        "visited_at": loan.at(day, 5),
        "address": loan.open_body["borrower"]["address"],
        "outcome": outcome,
        "agent_id": f"field-{loan.index % 12:02d}",
    }
    plan.actions.append(Action("visit", "collector", "field-visits", body, loan.key("visit")))
    loan.note("field_visits")


def _legal(loan: Loan, day: date, dpd: int, plan: DayPlan) -> None:
    stage = loan.legal
    if "legal_notice" not in stage:
        stage["legal_notice"] = day
        _notice(loan, day, plan, "legal_notice", "registered_mail", "legal")
        return
    worth_suing = loan.balance >= SUIT_MIN_BALANCE and loan.profile.name != "unreachable"
    if "suit" not in stage:
        if dpd >= 150 and not worth_suing:
            _write_off(loan, day, plan, "balance too small to pursue in court")
        elif dpd >= 120 and worth_suing and day >= stage["legal_notice"] + timedelta(days=15):
            _sue(loan, day, plan)
        return
    if "judgment" not in stage:
        if day >= stage["suit"] + timedelta(days=stage["delay"]):
            _judge(loan, day, plan)
        return
    if stage["outcome"] == "against":
        _write_off(loan, day, plan, "claim dismissed by the court")
    elif stage["outcome"] == "in_favour" and "enforcement" not in stage:
        if day >= stage["judgment"] + timedelta(days=10):
            stage["enforcement"] = day
            body = {"enforcement_ref": f"ENF-{loan.loan_id}", "started_at": loan.at(day, 4)}
            plan.actions.append(
                Action("enforcement", "legal", "enforcements", body, loan.key("enf"), "legal")
            )
            loan.note("enforcements")
    elif (
        "enforcement" in stage
        and day >= stage["enforcement"] + timedelta(days=30)
        and loan.rng.random() < 0.05
    ):
        _write_off(loan, day, plan, "enforcement found no assets")


def _sue(loan: Loan, day: date, plan: DayPlan) -> None:
    stage = loan.legal
    stage["suit"] = day
    stage["delay"] = loan.rng.randint(25, 50)
    stage["claim"] = min(loan.balance, loan.arrears() * 11 // 10)
    stage["docket"] = f"({day.year}) Min Chu {loan.index:06d}-{loan.seq}"
    body = {
        "court": COURTS[loan.index % len(COURTS)],
        "docket_number": stage["docket"],
        "claim_amount": b.money(stage["claim"]),
        "filed_at": loan.at(day, 2),
    }
    plan.actions.append(Action("lawsuit", "legal", "lawsuits", body, loan.key("suit"), "legal"))
    loan.note("lawsuits")


def _judge(loan: Loan, day: date, plan: DayPlan) -> None:
    stage = loan.legal
    stage["judgment"] = day
    outcome = b.pick(loan.rng, (("in_favour", 0.85), ("settled_in_court", 0.1), ("against", 0.05)))
    stage["outcome"] = outcome
    claim = stage["claim"]
    awarded = {"in_favour": claim, "settled_in_court": claim * 4 // 5, "against": 0}[outcome]
    body = {
        "docket_number": stage["docket"],
        "outcome": outcome,
        "awarded_amount": b.money(awarded),
        "entered_at": loan.at(day, 3),
    }
    plan.actions.append(Action("judgment", "legal", "judgments", body, loan.key("jdg"), "legal"))
    loan.note(f"judgments_{outcome}")


def _write_off(loan: Loan, day: date, plan: DayPlan, reason: str) -> None:
    loan.written_off = True
    loan.closed = True
    loan.promise = None
    body = {
        "reason": reason,
        "approved_by": "write-off-committee",
        "written_off_at": loan.at(day, 9),
    }
    plan.actions.append(Action("write_off", "legal", "write-offs", body, loan.key("wo"), "legal"))
    loan.note("write_offs")
