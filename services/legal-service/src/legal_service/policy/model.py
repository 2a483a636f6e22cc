"""The legal view of a case, as the policy reads it: plain immutable values, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from arrears import business_date

CENTS = Decimal("0.01")

# Legal stages, in the order a case moves through them.
STAGES = (
    "none",
    "demand_served",
    "referred_to_legal",
    "lawsuit_filed",
    "asset_preservation_granted",
    "judgment",
    "enforcement",
    "closed",
    "written_off",
)
LITIGATION = frozenset({"lawsuit_filed", "asset_preservation_granted", "judgment", "enforcement"})
PRE_LITIGATION = frozenset({"none", "demand_served", "referred_to_legal"})

# Kinds of limitation interruption (Civil Code art. 195).
DEMAND = "demand"
ACKNOWLEDGEMENT = "acknowledgement"
PART_PAYMENT = "part_payment"
LAWSUIT = "lawsuit"


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def to_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount.quantize(CENTS)), "currency": self.currency}


@dataclass(frozen=True)
class Interruption:
    """An event that may interrupt limitation; it counts only with proof on record."""

    on: date
    kind: str  # demand | acknowledgement | part_payment | lawsuit
    source: str  # the case event that recorded it
    proof: str | None  # tracking number, receipt, docket number, payment reference...
    promise: bool = False  # an acknowledgement by a promise to pay

    def to_dict(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(),
            "kind": self.kind,
            "source": self.source,
            "proof": self.proof,
        }


@dataclass(frozen=True)
class Installment:
    due_on: date
    open_amount: Decimal  # amount - paid, > 0


@dataclass(frozen=True)
class EnforcementOutcome:
    """How an enforcement ended (recorded in legal-service; not a case event today)."""

    outcome: str  # recovered_in_full | partially_recovered | no_assets_found | terminated
    recovered: Decimal
    ended_on: date

    @property
    def without_recovery(self) -> bool:
        return self.outcome in {"no_assets_found", "terminated", "partially_recovered"}


@dataclass(frozen=True)
class CaseView:
    case_id: str
    currency: str
    principal: Decimal
    outstanding: Decimal
    status: str = "open"  # open | closed
    stage: str = "none"
    installments: tuple[Installment, ...] = ()
    interruptions: tuple[Interruption, ...] = ()
    first_receipt_on: date | None = None  # confirmed receipts of collection attempts
    last_receipt_on: date | None = None
    broken_promises: int = 0
    refusals: int = 0
    contact_lost: bool = False
    signals: frozenset[str] = frozenset()  # vanished | deceased | other_creditors | ...
    guarantors: tuple[str, ...] = ()
    guarantors_demanded: frozenset[str] = frozenset()
    collateral: bool = False
    claim_amount: Decimal | None = None
    preservation_granted: bool = False
    judgment_outcome: str | None = None  # in_favour | against | settled_in_court
    enforcement_started: bool = False
    enforcement_outcome: EnforcementOutcome | None = None
    legal_costs: Decimal = Decimal("0")
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def oldest_due_on(self) -> date | None:
        return min((i.due_on for i in self.installments), default=None)

    def days_past_due(self, today: date) -> int:
        """On the bank's business date `today` (arrears.business_date), as case-service."""
        return business_date.days_past_due(self.oldest_due_on, today)

    def bucket(self, today: date) -> str:
        return business_date.bucket_for(self.days_past_due(today))

    def arrears(self, today: date) -> Decimal:
        total = sum((i.open_amount for i in self.installments if i.due_on <= today), Decimal(0))
        return total.quantize(CENTS)

    @property
    def collection_failed(self) -> bool:
        """Collection has failed: a promise broken, contact lost, or the borrower refused."""
        return self.broken_promises > 0 or self.contact_lost or self.refusals > 0


@dataclass(frozen=True)
class Recommendation:
    kind: str  # the task type: PrepareDemandLetter, ReferToLegal, ...
    reason: str
    key: str = ""  # what makes it distinct within the case (threshold, guarantor...)
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "reason": self.reason, "key": self.key, "data": self.data}
