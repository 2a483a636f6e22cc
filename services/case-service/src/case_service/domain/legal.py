"""Commands on the legal track: guarantors, lawsuits, preservation, judgment, enforcement,
and the costs of them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from arrears.legal_costs import LEGAL_COST_KINDS

from . import checks
from .errors import CommandForbidden, InvalidCommand
from .legal_events import (
    AssetPreservationGranted,
    EnforcementStarted,
    GuarantorDemanded,
    JudgmentEntered,
    LawsuitFiled,
    LegalCostIncurred,
)
from .state import CaseState

JUDGMENT_OUTCOMES = ("in_favour", "against", "settled_in_court")


class LegalCommands(CaseState):
    def demand_from_guarantor(
        self,
        *,
        guarantor_id: str,
        amount: Decimal,
        served_at: datetime,
        proof: str | None,
        now: datetime,
    ) -> None:
        now = self._command(now)
        guarantor_id = checks.text(guarantor_id, "guarantor_id")
        amount = self._money(amount, "amount")
        served_at = checks.instant(served_at, "served_at", now=now)
        proof = checks.optional_text(proof, "proof")
        if guarantor_id not in {g["id"] for g in self.guarantors}:
            raise InvalidCommand("no such guarantor on this case", field="guarantor_id")
        if amount > self.outstanding_balance:
            raise InvalidCommand("the demand exceeds the outstanding balance", field="amount")
        self.trigger_event(
            GuarantorDemanded,
            timestamp=now,
            guarantor_id=guarantor_id,
            amount=amount,
            currency=self.currency,
            served_at=served_at,
            proof=proof,
        )

    def file_lawsuit(
        self,
        *,
        court: str,
        docket_number: str,
        claim_amount: Decimal,
        filed_at: datetime,
        now: datetime,
    ) -> None:
        now = self._command(now)
        court = checks.text(court, "court")
        docket_number = checks.text(docket_number, "docket_number", max_length=100)
        claim_amount = self._money(claim_amount, "claim_amount")
        filed_at = checks.instant(filed_at, "filed_at", now=now)
        if claim_amount > self.principal * Decimal(self.rules["max_claim_multiple"]):
            raise InvalidCommand(
                "the claim is implausibly large for this loan", field="claim_amount"
            )
        if self.pending_docket is not None:
            raise CommandForbidden(
                f"lawsuit {self.pending_docket} is still pending", field="docket_number"
            )
        if docket_number in self.lawsuits:
            raise CommandForbidden("this docket number is already used", field="docket_number")
        self.trigger_event(
            LawsuitFiled,
            timestamp=now,
            court=court,
            docket_number=docket_number,
            claim_amount=claim_amount,
            currency=self.currency,
            filed_at=filed_at,
        )

    def grant_asset_preservation(
        self, *, court_order_ref: str, amount: Decimal, granted_at: datetime, now: datetime
    ) -> None:
        """诉讼保全: freezing assets needs a lawsuit, and at most the amount claimed."""
        now = self._command(now)
        court_order_ref = checks.text(court_order_ref, "court_order_ref")
        amount = self._money(amount, "amount")
        granted_at = checks.instant(granted_at, "granted_at", now=now)
        docket = self.pending_docket or self.judged_docket
        if docket is None:
            raise CommandForbidden("asset preservation needs a lawsuit", field=None)
        if amount > self.lawsuits[docket]["claim_amount"]:
            raise InvalidCommand("preservation cannot exceed the amount claimed", field="amount")
        self.trigger_event(
            AssetPreservationGranted,
            timestamp=now,
            court_order_ref=court_order_ref,
            docket_number=docket,
            amount=amount,
            currency=self.currency,
            granted_at=granted_at,
        )

    def enter_judgment(
        self,
        *,
        docket_number: str,
        outcome: str,
        awarded_amount: Decimal,
        entered_at: datetime,
        now: datetime,
    ) -> None:
        """No judgment without a lawsuit: the docket must be this case's pending lawsuit."""
        now = self._command(now)
        docket_number = checks.text(docket_number, "docket_number", max_length=100)
        outcome = checks.choice(outcome, JUDGMENT_OUTCOMES, "outcome")
        awarded_amount = self._money(awarded_amount, "awarded_amount", allow_zero=True)
        entered_at = checks.instant(entered_at, "entered_at", now=now)
        lawsuit = self.lawsuits.get(docket_number)
        if lawsuit is None:
            raise CommandForbidden("no lawsuit with this docket number", field="docket_number")
        if lawsuit["status"] != "pending":
            raise CommandForbidden("this lawsuit is already judged", field="docket_number")
        if awarded_amount > lawsuit["claim_amount"]:
            raise InvalidCommand("a court awards no more than claimed", field="awarded_amount")
        if outcome == "against" and awarded_amount != 0:
            raise InvalidCommand(
                "a judgment against the bank awards nothing", field="awarded_amount"
            )
        self.trigger_event(
            JudgmentEntered,
            timestamp=now,
            docket_number=docket_number,
            outcome=outcome,
            awarded_amount=awarded_amount,
            currency=self.currency,
            entered_at=entered_at,
        )

    def start_enforcement(
        self, *, enforcement_ref: str, started_at: datetime, now: datetime
    ) -> None:
        now = self._command(now)
        enforcement_ref = checks.text(enforcement_ref, "enforcement_ref")
        started_at = checks.instant(started_at, "started_at", now=now)
        if not self.judgment_in_favour or self.judged_docket is None:
            raise CommandForbidden("enforcement needs a judgment in the bank's favour", field=None)
        if self.enforcement_ref is not None and self.legal_progress == "enforcement":
            raise CommandForbidden("enforcement has already started", field="enforcement_ref")
        self.trigger_event(
            EnforcementStarted,
            timestamp=now,
            enforcement_ref=enforcement_ref,
            docket_number=self.judged_docket,
            started_at=started_at,
        )

    def record_legal_cost(
        self,
        *,
        kind: str,
        amount: Decimal,
        incurred_on: date,
        reference: str | None,
        description: str | None,
        now: datetime,
    ) -> None:
        """A cost of the legal track, for the record a court or an auditor reads. A bill may
        arrive after the case closed, so a closed case takes it too. The same reference
        again with the same figures is a resend and records nothing."""
        now = checks.now_utc(now)
        kind = checks.choice(kind, LEGAL_COST_KINDS, "kind")
        amount = self._money(amount, "amount")
        incurred_on = checks.day(
            incurred_on, "incurred_on", today=self.business_day(now), future=timedelta(0)
        )
        reference = checks.optional_text(reference, "reference", max_length=100)
        description = checks.optional_text(description, "description", max_length=checks.MAX_NOTE)
        if reference is not None:
            for cost in self.legal_costs:
                if cost["reference"] != reference or cost["kind"] != kind:
                    continue
                if cost["amount"] == amount and cost["incurred_on"] == incurred_on:
                    return  # a resend of a cost already recorded
                raise CommandForbidden(
                    "a cost with this kind and reference is already recorded with other figures",
                    field="reference",
                )
        self.trigger_event(
            LegalCostIncurred,
            timestamp=now,
            kind=kind,
            amount=amount,
            currency=self.currency,
            incurred_on=incurred_on,
            reference=reference,
            description=description,
        )
