"""Request and response bodies of the case-service HTTP API (snake_case JSON)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from arrears.input import Identifier as StrictId
from arrears.input import Instant as StrictInstant
from arrears.input import Text as StrictText
from arrears.input import ZoneName
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

MAX_AMOUNT = Decimal("1000000000000")  # a trillion: above this an amount is a typo, not a loan


def _money(value: Any) -> Decimal:
    return _parse_money(value, allow_zero=False)


def _money_or_zero(value: Any) -> Decimal:
    return _parse_money(value, allow_zero=True)


def _parse_money(value: Any, *, allow_zero: bool) -> Decimal:
    # Money travels as a decimal string; a JSON number may already have lost precision.
    if not isinstance(value, str):
        raise ValueError('money must be a decimal string such as "1200.00"')
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError("not a decimal number") from None
    if not amount.is_finite():
        raise ValueError("must be a finite number")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError("must be greater than 0" if not allow_zero else "must not be negative")
    if amount > MAX_AMOUNT:
        raise ValueError("is implausibly large")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most 2 decimal places")
    return amount


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


Money = Annotated[Decimal, BeforeValidator(_money)]
MoneyOrZero = Annotated[Decimal, BeforeValidator(_money_or_zero)]
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Note = Annotated[str, Field(max_length=4000)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
PhoneKind = Literal["mobile", "home", "work"]
PartyKind = Literal[
    "borrower", "spouse", "co_borrower", "guarantor", "employer", "emergency_contact"
]


Jurisdiction = Literal["CN", "US-RegF", "UK-CONC"]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Phone(Strict):
    number: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{5,20}$")]
    kind: PhoneKind = "mobile"
    owner: PartyKind = "borrower"


class Borrower(Strict):
    id: Text
    name: Text
    timezone: Text = "Asia/Shanghai"
    address: Note | None = None
    phones: list[Phone] = Field(default_factory=list, max_length=20)
    # Every zone the borrower may be in (the hours are checked in all of them).
    candidate_timezones: list[ZoneName] = Field(default_factory=list, max_length=10)
    country: CountryCode | None = None  # of residence: the jurisdiction rule reads it


class Guarantor(Strict):
    id: Text
    name: Text
    phones: list[Phone] = Field(default_factory=list, max_length=20)


class CaseCreate(Strict):
    loan_id: Annotated[str, Field(min_length=1, max_length=100)]
    product: Text
    currency: Currency = "CNY"
    principal: Money
    borrower: Borrower
    guarantors: list[Guarantor] = Field(default_factory=list, max_length=20)
    collateral: dict[str, Any] | None = None
    # Absent: derived from product, borrower country and currency (domain/jurisdiction.py).
    jurisdiction: Jurisdiction | None = None


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
    installment: Annotated[int, Field(ge=1, le=1000)]
    due_date: date
    amount: Money


class PaymentCreate(MoneyCommand):
    amount: Money
    paid_at: Instant
    reference: Text


class ContactAttemptCreate(Strict):
    channel: Literal["call", "sms", "email", "app_push", "letter", "visit"]
    party: PartyKind = "borrower"
    contact_point: Text
    outcome: Literal[
        "right_party_contact",
        "third_party_contact",
        "no_answer",
        "busy",
        "voicemail",
        "wrong_number",
        "disconnected",
        "refused_to_pay",
        "delivered",
        "failed",
    ]
    occurred_at: Instant
    agent_id: Text | None = None
    recording_ref: Text | None = None
    notes: Note | None = None
    # The bank's outbound line the call was placed from (some readings of 3:3:3 count them).
    caller_line: StrictId | None = None


class PromiseCreate(MoneyCommand):
    amount: Money
    promised_date: date


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
    due_date: date
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
    reason: StrictText
    changed_by: StrictId | None = None
    changed_at: StrictInstant


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
    added_at: StrictInstant | None = None


class TimezoneCandidateCreate(Strict):
    timezone: ZoneName
    source: Literal["address", "phone_country", "borrower", "skip_trace", "agent"]
    added_at: StrictInstant | None = None


class MissedPaymentItem(MissedPaymentCreate):
    loan_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    case_id: UUID | None = None


class MissedPaymentBatch(Strict):
    items: list[MissedPaymentItem] = Field(min_length=1, max_length=200_000)


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
