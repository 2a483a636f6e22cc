"""Commands on money: missed installments, payments, promises to pay, payment plans."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from . import checks, delinquency
from .errors import CommandForbidden, InvalidCommand
from .events import (
    PaymentMissed,
    PaymentPlanAgreed,
    PaymentReceived,
    PromiseBroken,
    PromiseKept,
    PromiseToPayMade,
)
from .state import CaseState

PLAN_KINDS = ("extension", "restructuring")
MAX_INSTALLMENT_NUMBER = 1000


class PaymentCommands(CaseState):
    def record_missed_payment(
        self, *, installment: int, due_date: date, amount: Decimal, now: datetime
    ) -> None:
        """The loan system reports an installment unpaid (idempotent for the daily file)."""
        now = self._command(now)
        if isinstance(installment, bool) or not isinstance(installment, int):
            raise InvalidCommand("must be an integer", field="installment")
        if not 1 <= installment <= MAX_INSTALLMENT_NUMBER:
            raise InvalidCommand(f"must be 1 to {MAX_INSTALLMENT_NUMBER}", field="installment")
        today = self.business_day(now)  # one business day for every check of the command
        due_date = checks.day(due_date, "due_date", today=today)
        amount = self._money(amount, "amount")
        known = self.installments.get(str(installment))
        if known is not None:
            if known["due_date"] == due_date and known["amount"] == amount:
                return  # the same report again: nothing new
            raise CommandForbidden(
                f"installment {installment} was already reported with other data",
                field="installment",
            )
        if due_date > today:
            raise InvalidCommand(
                "an installment cannot be missed before it is due", field="due_date"
            )
        if amount > self.principal:
            raise InvalidCommand("an installment cannot exceed the principal", field="amount")
        if self.arrears_on(today) + amount > self.outstanding_balance:
            raise InvalidCommand("the arrears would exceed the outstanding balance", field="amount")
        self.trigger_event(
            PaymentMissed,
            timestamp=now,
            installment=installment,
            due_date=due_date,
            amount=amount,
            currency=self.currency,
        )

    def record_payment(
        self, *, amount: Decimal, paid_at: datetime, reference: str, now: datetime
    ) -> None:
        """A payment arrived: allocated to the oldest unpaid installments first."""
        now = self._command(now)
        reference = checks.text(reference, "reference")
        amount = self._money(amount, "amount")
        paid_at = checks.instant(paid_at, "paid_at", now=now)
        if reference in self.payment_refs:
            if self.payment_refs[reference] == amount:
                return  # a retry of the same payment
            raise CommandForbidden(
                "a payment with this reference was recorded with another amount",
                field="reference",
            )
        if amount > self.outstanding_balance:
            raise InvalidCommand("the payment exceeds the outstanding balance", field="amount")
        allocations: list[dict[str, Any]] = []
        rest = amount
        for inst in delinquency.allocation_order(self.installments.values()):
            if rest <= 0:
                break
            part = min(rest, delinquency.unpaid(inst))
            allocations.append({"installment": inst["key"], "amount": part})
            rest -= part
        promise = self.open_promise_record
        counts = (
            promise is not None
            and paid_at >= promise["made_at"]
            and paid_at.date() <= promise["promised_date"]
        )
        promise_id = promise["promise_id"] if promise is not None and counts else None
        self.trigger_event(
            PaymentReceived,
            timestamp=now,
            amount=amount,
            currency=self.currency,
            paid_at=paid_at,
            reference=reference,
            allocations=allocations,
            promise_id=promise_id,
        )
        if promise is not None and promise_id is not None and promise["paid"] >= promise["amount"]:
            self.trigger_event(
                PromiseKept,
                timestamp=now,
                promise_id=promise_id,
                amount=promise["amount"],
                currency=self.currency,
                kept_on=paid_at.date(),
            )

    def make_promise(self, *, amount: Decimal, promised_date: date, now: datetime) -> None:
        """The debtor promises to pay: an acknowledgement of the debt."""
        now = self._command(now)
        amount = self._money(amount, "amount")
        promised_date = checks.day(promised_date, "promised_date")
        today = self.business_day(now)
        horizon = int(self.rules["promise_horizon_days"])
        if promised_date <= today:
            raise InvalidCommand("the promised date must be after today", field="promised_date")
        if promised_date > today + timedelta(days=horizon):
            raise InvalidCommand(
                f"the promised date must be within {horizon} days", field="promised_date"
            )
        if amount > self.outstanding_balance:
            raise InvalidCommand("the promise exceeds the outstanding balance", field="amount")
        lapsed = self._lapsed_promise(today)
        if self.open_promise is not None and lapsed is None:
            raise CommandForbidden("a promise to pay is already open", field="promised_date")
        if lapsed is not None:
            self._break_promise(lapsed, today, now)
        self.trigger_event(
            PromiseToPayMade,
            timestamp=now,
            promise_id=f"{self.id}-{len(self.promises) + 1}",
            amount=amount,
            currency=self.currency,
            promised_date=promised_date,
            made_at=now,
        )

    def _lapsed_promise(self, today: date) -> dict[str, Any] | None:
        promise = self.open_promise_record
        if promise is not None and promise["promised_date"] < today:
            return promise
        return None

    def _break_promise(self, promise: dict[str, Any], today: date, now: datetime) -> None:
        self.trigger_event(
            PromiseBroken,
            timestamp=now,
            promise_id=promise["promise_id"],
            amount=promise["amount"],
            currency=self.currency,
            promised_date=promise["promised_date"],
            paid_amount=promise["paid"],
            as_of=today,
        )

    def agree_payment_plan(
        self,
        *,
        kind: str,
        installments: list[dict[str, Any]],
        approved_by: str,
        agreed_at: datetime,
        now: datetime,
    ) -> None:
        """An approved extension (展期) or restructuring (重组) replaces the arrears."""
        now = self._command(now)
        kind = checks.choice(kind, PLAN_KINDS, "kind")
        approved_by = checks.text(approved_by, "approved_by")
        agreed_at = checks.instant(agreed_at, "agreed_at", now=now)
        if not isinstance(installments, list) or not 1 <= len(installments) <= 360:
            raise InvalidCommand("must list 1 to 360 installments", field="installments")
        plan: list[dict[str, Any]] = []
        for n, item in enumerate(installments, start=1):
            if not isinstance(item, dict):
                raise InvalidCommand(
                    "each installment needs a due_date and an amount", field=f"installments.{n - 1}"
                )
            due = checks.day(
                item.get("due_date"),
                f"installments.{n - 1}.due_date",
                today=self.business_day(now),
                future=checks.MAX_PLAN_FUTURE,
            )
            amount = self._money(item.get("amount"), f"installments.{n - 1}.amount")
            if due <= self.business_day(now):
                raise InvalidCommand("must be after today", field=f"installments.{n - 1}.due_date")
            if plan and due <= plan[-1]["due_date"]:
                raise InvalidCommand(
                    "due dates must increase", field=f"installments.{n - 1}.due_date"
                )
            plan.append({"number": n, "due_date": due, "amount": amount})
        today = self.business_day(now)
        arrears = self.arrears_on(today)
        if arrears == 0:
            raise CommandForbidden("there are no arrears to reschedule", field="installments")
        total = sum((i["amount"] for i in plan), Decimal("0"))
        if total != arrears:
            raise InvalidCommand(
                f"the installments must sum to the arrears of {arrears} {self.currency}",
                field="installments",
            )
        superseded = [
            i["key"] for i in delinquency.due_installments(self.installments.values(), today)
        ]
        self.trigger_event(
            PaymentPlanAgreed,
            timestamp=now,
            plan_number=self.plans_agreed + 1,
            kind=kind,
            installments=plan,
            total=total,
            currency=self.currency,
            superseded=superseded,
            approved_by=approved_by,
            agreed_at=agreed_at,
        )
