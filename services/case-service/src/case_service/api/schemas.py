"""Request and response bodies of the case-service HTTP API (snake_case JSON)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from arrears.input import (
    BusinessDate,
    Currency,
    Identifier,
    Instant,
    Money,
    MoneyOrZero,
    Note,
    Text,
    ZoneName,
    parse_amount,
)
from arrears.legal_costs import LegalCostKind
from arrears.vocabulary import Channel, Outcome, Party
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationInfo, field_validator

PhoneKind = Literal["mobile", "home", "work"]
PartyKind = Party
# E.164-like: an optional +, then digits with the usual separators; no letters, no controls.
PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9][0-9 ()-]{4,19}$")]
LoanId = Annotated[Identifier, Field(max_length=100)]
MAX_BATCH_ITEMS = 200_000


Jurisdiction = Literal["CN", "US-RegF", "UK-CONC"]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Strict(BaseModel):
    # Nothing is trimmed or coerced: what is stored is what was sent, or it is refused.
    model_config = ConfigDict(extra="forbid")


class Phone(Strict):
    number: PhoneNumber
    kind: PhoneKind = "mobile"
    owner: PartyKind = "borrower"


class Borrower(Strict):
    id: Identifier
    name: Text
    timezone: ZoneName = "Asia/Shanghai"
    address: Note | None = None
    phones: list[Phone] = Field(default_factory=list, max_length=20)
    # Every zone the borrower may be in (the hours are checked in all of them).
    candidate_timezones: list[ZoneName] = Field(default_factory=list, max_length=10)
    country: CountryCode | None = None  # of residence: the jurisdiction rule reads it


class Guarantor(Strict):
    id: Identifier
    name: Text
    phones: list[Phone] = Field(default_factory=list, max_length=20)


class Collateral(Strict):
    """What secures the loan: its kind, what it is, its appraised value and lien rank."""

    kind: Literal[
        "real_estate", "vehicle", "deposit", "securities", "receivables", "equipment", "other"
    ]
    description: Text
    appraised_value: Money | None = None
    appraisal_date: BusinessDate | None = None
    lien_rank: Annotated[StrictInt, Field(ge=1, le=10)] | None = None


class CaseCreate(Strict):
    loan_id: LoanId
    product: Annotated[Text, Field(max_length=100)]
    currency: Currency = "CNY"
    principal: Money
    borrower: Borrower
    guarantors: list[Guarantor] = Field(default_factory=list, max_length=20)
    collateral: Collateral | None = None
    # Absent: derived from product, borrower country and currency (domain/jurisdiction.py).
    jurisdiction: Jurisdiction | None = None

    # The generic money grammar allows four places; each currency allows its own minor unit.
    @field_validator("principal")
    @classmethod
    def _principal_in_currency(cls, amount: Decimal, info: ValidationInfo) -> Decimal:
        return in_currency(amount, info.data.get("currency"))

    @field_validator("collateral")
    @classmethod
    def _collateral_in_currency(
        cls, collateral: Collateral | None, info: ValidationInfo
    ) -> Collateral | None:
        if collateral is not None and collateral.appraised_value is not None:
            in_currency(collateral.appraised_value, info.data.get("currency"))
        return collateral


def in_currency(amount: Decimal, currency: object) -> Decimal:
    """`amount` with no more decimals than `currency` allows (unchecked if no valid currency)."""
    if isinstance(currency, str):
        parse_amount(format(amount, "f"), currency, zero=True)
    return amount


class CaseCreated(BaseModel):
    case_id: UUID
    version: int


class CommandAccepted(BaseModel):
    case_id: UUID
    version: int
    events: list[str]


class MoneyCommand(Strict):
    currency: Currency | None = None  # where sent, must be the case's currency


class MissedPaymentCreate(MoneyCommand):
    installment: Annotated[StrictInt, Field(ge=1, le=1000)]
    due_date: BusinessDate
    amount: Money


class PaymentCreate(MoneyCommand):
    amount: Money
    paid_at: Instant
    reference: Identifier


class ContactAttemptCreate(Strict):
    channel: Channel
    party: PartyKind = "borrower"
    contact_point: Text
    outcome: Outcome
    occurred_at: Instant
    agent_id: Text | None = None
    recording_ref: Text | None = None
    notes: Note | None = None
    # The bank's outbound line the call was placed from (some readings of 3:3:3 count them).
    caller_line: Identifier | None = None


class PromiseCreate(MoneyCommand):
    amount: Money
    promised_date: BusinessDate


class NoticeCreate(Strict):
    kind: Literal["reminder", "collection_notice", "demand_letter", "legal_notice"]
    delivered_via: Literal[
        "sms", "email", "app_push", "letter", "registered_mail", "in_person", "courier"
    ]
    served_at: Instant
    proof: Text | None = None


class FieldVisitCreate(Strict):
    visited_at: Instant
    address: Text
    outcome: Literal["met_borrower", "met_third_party", "nobody_home", "moved_away", "refused"]
    agent_id: Text | None = None
    notes: Note | None = None


class PlanInstallment(Strict):
    due_date: BusinessDate
    amount: Money


class PaymentPlanCreate(Strict):
    kind: Literal["extension", "restructuring"]
    installments: list[PlanInstallment] = Field(min_length=1, max_length=360)
    approved_by: Text
    agreed_at: Instant


class AgencyPlacementCreate(Strict):
    agency_id: Text
    consent_ref: Text
    placed_at: Instant


class AgencyRecallCreate(Strict):
    reason: Text
    recalled_at: Instant


class GuarantorDemandCreate(MoneyCommand):
    guarantor_id: Text
    amount: Money
    served_at: Instant
    proof: Text | None = None


class ComplaintCreate(Strict):
    complaint_id: Text
    channel: Text
    category: Text
    description: Note
    received_at: Instant


class ComplaintResolutionCreate(Strict):
    resolution: Text
    resolved_at: Instant


class DisputeCreate(Strict):
    reason: Text
    raised_at: Instant


class LawsuitCreate(MoneyCommand):
    court: Text
    docket_number: Text
    claim_amount: Money
    filed_at: Instant


class AssetPreservationCreate(MoneyCommand):
    court_order_ref: Text
    amount: Money
    granted_at: Instant


class JudgmentCreate(MoneyCommand):
    docket_number: Text
    outcome: Literal["in_favour", "against", "settled_in_court"]
    awarded_amount: MoneyOrZero
    entered_at: Instant


class LegalCostCreate(MoneyCommand):
    kind: LegalCostKind
    amount: Money
    incurred_on: BusinessDate  # not after today (the business date may be a day ahead of UTC)
    reference: Text | None = None  # invoice, receipt or court order (at most 100 characters)
    description: Note | None = None


class EnforcementCreate(Strict):
    enforcement_ref: Text
    started_at: Instant


class WriteOffCreate(Strict):
    reason: Text
    approved_by: Text
    written_off_at: Instant


class ClosureCreate(Strict):
    reason: Literal["cured", "paid_in_full", "settled"]
    closed_at: Instant


class ReopeningCreate(Strict):
    reason: Text
    reopened_at: Instant


class JurisdictionChangeCreate(Strict):
    jurisdiction: Jurisdiction
    reason: Text
    changed_by: Identifier | None = None
    changed_at: Instant


class ContactPointCreate(Strict):
    """A number or an e-mail address the case does not know yet, with its owner and source."""

    number: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{5,20}$")] | None = None
    email: (
        Annotated[str, Field(pattern=r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,189}$")]
        | None
    ) = None
    kind: Literal["mobile", "home", "work", "email"] | None = None
    owner: PartyKind
    source: Literal["borrower", "skip_trace", "third_party", "application", "bureau", "agent"]
    timezone: ZoneName | None = None  # the number's zone, if its country tells
    added_at: Instant | None = None


class TimezoneCandidateCreate(Strict):
    timezone: ZoneName
    source: Literal["address", "phone_country", "borrower", "skip_trace", "agent"]
    added_at: Instant | None = None


class MissedPaymentItem(MissedPaymentCreate):
    loan_id: LoanId | None = None
    case_id: UUID | None = None


class MissedPaymentBatch(Strict):
    items: list[MissedPaymentItem] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description=f"at most {MAX_BATCH_ITEMS} items (and a body of at most 40 MiB)",
    )


class BatchRejection(BaseModel):
    index: int
    loan_id: str | None
    case_id: UUID | None
    status: int
    field: str | None
    detail: str


class BatchResult(BaseModel):
    received: int
    recorded: int
    unchanged: int
    rejected: list[BatchRejection]
