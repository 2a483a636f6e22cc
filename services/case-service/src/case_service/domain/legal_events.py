"""The event catalogue, part 3: notices, guarantors, lawsuits, judgments, enforcement, costs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from .events import CaseEvent
from .state import CaseState

# The legal ladder, in order; `legal_progress` only moves up it except when a new lawsuit
# is filed after a judgment (it starts again from lawsuit_filed).
LEGAL_LADDER = (
    "none",
    "demand_served",
    "lawsuit_filed",
    "asset_preservation_granted",
    "judgment_entered",
    "enforcement",
)


def _advance(aggregate: CaseState, stage: str) -> None:
    if LEGAL_LADDER.index(stage) > LEGAL_LADDER.index(aggregate.legal_progress):
        aggregate.legal_progress = stage


class NoticeServed(CaseEvent):
    kind: str  # collection_notice (催收通知书) | demand_letter | legal_notice
    delivered_via: str
    served_at: datetime
    proof: str | None
    interrupts_limitation: bool  # a demand with proof of delivery (art. 195)

    def apply(self, aggregate: CaseState) -> None:
        _advance(aggregate, "demand_served")
        if self.interrupts_limitation:
            aggregate.note_interruption(self.served_at.date())


class GuarantorDemanded(CaseEvent):
    guarantor_id: str
    amount: Decimal
    currency: str
    served_at: datetime
    proof: str | None

    def apply(self, aggregate: CaseState) -> None:
        aggregate.guarantor_demands += 1


class LawsuitFiled(CaseEvent):
    court: str
    docket_number: str
    claim_amount: Decimal
    currency: str
    filed_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.lawsuits[self.docket_number] = {
            "court": self.court,
            "claim_amount": self.claim_amount,
            "filed_at": self.filed_at,
            "status": "pending",
            "outcome": None,
        }
        aggregate.pending_docket = self.docket_number
        aggregate.judgment_in_favour, aggregate.judged_docket = False, None
        aggregate.enforcement_ref = None
        aggregate.legal_progress = "lawsuit_filed"
        aggregate.note_interruption(self.filed_at.date())


class AssetPreservationGranted(CaseEvent):
    """诉讼保全: the court froze assets up to `amount` for the lawsuit `docket_number`."""

    court_order_ref: str
    docket_number: str
    amount: Decimal
    currency: str
    granted_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        _advance(aggregate, "asset_preservation_granted")


class JudgmentEntered(CaseEvent):
    docket_number: str
    outcome: str  # in_favour | against | settled_in_court
    awarded_amount: Decimal
    currency: str
    entered_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        lawsuit = aggregate.lawsuits[self.docket_number]
        lawsuit["status"], lawsuit["outcome"] = "judged", self.outcome
        aggregate.pending_docket = None
        aggregate.judgment_in_favour = self.outcome in ("in_favour", "settled_in_court")
        aggregate.judged_docket = self.docket_number
        aggregate.legal_progress = "judgment_entered"
        aggregate.in_dispute = False  # the court has decided the dispute


class EnforcementStarted(CaseEvent):
    enforcement_ref: str
    docket_number: str
    started_at: datetime

    def apply(self, aggregate: CaseState) -> None:
        aggregate.enforcement_ref = self.enforcement_ref
        aggregate.legal_progress = "enforcement"


class LegalCostIncurred(CaseEvent):
    """A cost of pursuing the claim (court or lawyer's fee, preservation, enforcement...)."""

    personal_data: ClassVar[tuple[str, ...]] = ("description",)
    kind: str
    amount: Decimal
    currency: str
    incurred_on: date
    reference: str | None
    description: str | None

    def apply(self, aggregate: CaseState) -> None:
        aggregate.add_legal_cost(
            {
                "kind": self.kind,
                "amount": self.amount,
                "incurred_on": self.incurred_on,
                "reference": self.reference,
            }
        )
