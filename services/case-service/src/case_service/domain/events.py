"""The event catalogue, part 1: the case's life, its payments, promises, plans and aging.

Every attribute is a JSON-transcodable primitive (str, int, bool, None, Decimal, date,
datetime, UUID, list, dict with str keys). `apply` only updates the aggregate's state;
the rules were checked by the command that triggered the event. Money travels as a
Decimal with the case's `currency`. `personal_data` names attributes holding personal
data (names, phones, addresses, free-text notes).
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from .contactability import REACHABLE, fresh_tracking
from .jurisdiction import DEFAULT_JURISDICTION
from .state import CaseState

# Decimal("0.00"), made once: a Decimal is immutable, so every case and installment may hold
# this one (a payment adds to it, making another).
_NOTHING_PAID = Decimal("0.00")


def _copied(value: Any) -> Any:
    """A copy of JSON-shaped event data (dicts, lists, immutable leaves) for the case to own:
    what `copy.deepcopy` gives for such data, at a fraction of its cost (rebuilding a case
    from its events copies every opening's borrower and guarantors)."""
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    if type(value) is list:
        return [_copied(item) for item in value]
    if isinstance(value, dict | list):  # a subclass: keep deepcopy's exact behaviour
        return copy.deepcopy(value)
    return value


class CaseEvent(Aggregate.Event):
    """Base class of every CollectionCase event."""

    personal_data: ClassVar[tuple[str, ...]] = ()

    def apply(self, aggregate: CaseState) -> None:
        """Evolve the case's state (overridden by each event)."""


class CaseOpened(Aggregate.Created, CaseEvent):
    """Version 2 adds `jurisdiction` and `borrower.candidate_timezones`."""

    class_version: ClassVar[int] = 2
    personal_data: ClassVar[tuple[str, ...]] = ("borrower", "guarantors", "collateral")
    loan_id: str
    product: str
    currency: str
    principal: Decimal
    borrower: dict[str, Any]
    guarantors: list[dict[str, Any]]
    collateral: dict[str, Any] | None
    rules: dict[str, Any]
    jurisdiction: str
    # Fields later class versions added (optional in the published schema): name -> version.
    fields_added: ClassVar[dict[str, int]] = {"jurisdiction": 2}

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """v1 -> v2: every case opened before jurisdictions existed was collected under the
        CN profile, with no candidate zones but its one time zone."""
        state["jurisdiction"] = DEFAULT_JURISDICTION
        borrower = state.get("borrower")
        if isinstance(borrower, dict):
            borrower.setdefault("candidate_timezones", [])

    def apply(self, aggregate: CaseState) -> None:
        copies = _copied(self.borrower), _copied(self.guarantors), _copied(self.collateral)
        self.open_with(aggregate, *copies)

    def open_with(
        self,
        aggregate: CaseState,
        borrower: dict[str, Any],
        guarantors: list[dict[str, Any]],
        collateral: dict[str, Any] | None,
    ) -> None:
        """`apply`, the case taking these as its borrower, guarantors and collateral: the
        copies `apply` makes of the event's, or (the daily file's cold read, which reads
        the event from JSON for this case alone, daily_file/opened.py) the event's own."""
        a = aggregate
        a.__dict__["_jurisdiction"] = self.jurisdiction
        a.loan_id, a.product, a.currency = self.loan_id, self.product, self.currency
        a.principal = self.principal
        a.borrower, a.guarantors, a.collateral = borrower, guarantors, collateral
        a.rules = dict(self.rules)
        a.opened_at = self.timestamp
        a.status, a.close_reason, a.closed_at = "open", None, None
        a.installments, a.plans_agreed = {}, 0
        a.paid_total, a.payment_refs, a.written_off_amount = _NOTHING_PAID, {}, None
        a.bucket, a.risk_grade, a.risk_score = "M0", None, None
        a.contactability, a.contact_tracking = REACHABLE, fresh_tracking()
        a.contact_attempts, a.reminders_sent, a.field_visits = 0, 0, 0
        a.promises, a.open_promise = [], None
        a.legal_progress, a.lawsuits, a.pending_docket = "none", {}, None
        a.judgment_in_favour, a.judged_docket, a.enforcement_ref = False, None, None
        a.agency_id, a.agency_consent_ref = None, None
        a.complaints, a.in_dispute, a.guarantor_demands = {}, False, 0
        a.last_interruption_on = None


class PaymentMissed(CaseEvent):
    installment: int
    due_date: date
    amount: Decimal
    currency: str

    def apply(self, aggregate: CaseState) -> None:
        key = str(self.installment)
        aggregate.installments[key] = {
            "key": key,
            "number": self.installment,
            "plan": 0,
            "due_date": self.due_date,
            "amount": self.amount,
            "paid": _NOTHING_PAID,
            "superseded": False,
        }


class PaymentReceived(CaseEvent):
    amount: Decimal
    currency: str
    paid_at: datetime
    reference: str
    # [{"installment": key, "amount": Decimal}], oldest due first; any rest prepays.
    allocations: list[dict[str, Any]]
    promise_id: str | None  # the open promise this payment counts towards, if in time

    def apply(self, aggregate: CaseState) -> None:
        aggregate.paid_total += self.amount
        aggregate.payment_refs[self.reference] = self.amount
        for part in self.allocations:
            aggregate.installments[part["installment"]]["paid"] += part["amount"]
        if self.promise_id is not None:
            aggregate.promise(self.promise_id)["paid"] += self.amount
        aggregate.note_interruption(self.paid_at.date())  # part payment (art. 195)


class DelinquencyBucketChanged(CaseEvent):
    from_bucket: str
    to_bucket: str
    days_past_due: int
    as_of: date

    def apply(self, aggregate: CaseState) -> None:
        aggregate.bucket = self.to_bucket
        aggregate.note_aged(self.as_of)


class RiskGraded(CaseEvent):
    grade: str
    score: int
    factors: dict[str, int]
    as_of: date

    def apply(self, aggregate: CaseState) -> None:
        aggregate.risk_grade, aggregate.risk_score = self.grade, self.score
        aggregate.note_aged(self.as_of)


class PromiseToPayMade(CaseEvent):
    promise_id: str
    amount: Decimal
    currency: str
    promised_date: date
    made_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.promises.append(
            {
                "promise_id": self.promise_id,
                "amount": self.amount,
                "promised_date": self.promised_date,
                "made_at": self.made_at,
                "status": "open",
                "paid": Decimal("0.00"),
            }
        )
        aggregate.open_promise = self.promise_id
        aggregate.note_interruption(self.made_at.date())  # acknowledgement (art. 195)


class PromiseKept(CaseEvent):
    promise_id: str
    amount: Decimal
    currency: str
    kept_on: date

    def apply(self, aggregate: CaseState) -> None:
        aggregate.promise(self.promise_id)["status"] = "kept"
        aggregate.open_promise = None


class PromiseBroken(CaseEvent):
    promise_id: str
    amount: Decimal
    currency: str
    promised_date: date
    paid_amount: Decimal
    as_of: date

    def apply(self, aggregate: CaseState) -> None:
        aggregate.promise(self.promise_id)["status"] = "broken"
        aggregate.open_promise = None


class PaymentPlanAgreed(CaseEvent):
    plan_number: int
    kind: str  # extension (展期) | restructuring (重组)
    installments: list[dict[str, Any]]  # [{"number", "due_date", "amount"}]
    total: Decimal
    currency: str
    superseded: list[str]  # keys of the installments the plan replaces
    approved_by: str
    agreed_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        for key in self.superseded:
            aggregate.installments[key]["superseded"] = True
        for item in self.installments:
            key = f"P{self.plan_number}-{item['number']}"
            aggregate.installments[key] = {
                "key": key,
                "number": item["number"],
                "plan": self.plan_number,
                "due_date": item["due_date"],
                "amount": item["amount"],
                "paid": Decimal("0.00"),
                "superseded": False,
            }
        aggregate.plans_agreed = self.plan_number
        aggregate.note_interruption(self.agreed_at.date())  # acknowledgement (art. 195)


class WrittenOff(CaseEvent):
    reason: str
    approved_by: str
    written_off_at: datetime
    amount: Decimal  # the outstanding balance written off
    currency: str
    days_past_due: int

    def apply(self, aggregate: CaseState) -> None:
        aggregate.written_off_amount = self.amount


class CaseClosed(CaseEvent):
    reason: str  # cured | paid_in_full | settled | written_off
    closed_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.status, aggregate.close_reason = "closed", self.reason
        aggregate.closed_at = self.closed_at


class CaseReopened(CaseEvent):
    reason: str
    reopened_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.status, aggregate.close_reason, aggregate.closed_at = "open", None, None
