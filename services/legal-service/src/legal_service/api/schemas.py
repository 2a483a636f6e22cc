"""Request and response bodies of the legal officers' API (snake_case JSON).

Bodies forwarded to case-service carry exactly case-service's field names (DESIGN §4).
Every input is one of arrears.input's strict types (docs/input-grammar.md): money is a decimal
string in the case's currency's grammar, times are RFC 3339 with an offset, dates YYYY-MM-DD,
texts without control characters; every body refuses unknown fields.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
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
    check_text,
)
from arrears.legal_costs import LegalCostKind
from pydantic import BaseModel, BeforeValidator, ConfigDict, WithJsonSchema


def _reference(value: object) -> str:
    return check_text(value, max_length=100)


def _officer(value: object) -> str:
    return check_text(value, max_length=200)


def _text_schema(max_length: int, description: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}
    )


# One line as a court or an agent writes it (arrears.input's text rules, shorter than Text):
# docket numbers and court orders such as (2024)京0105民初12345号 are not Identifiers.
Reference = Annotated[
    str,
    BeforeValidator(_reference),
    _text_schema(100, "a court's or agent's reference as written; no control characters"),
]
OfficerName = Annotated[
    str, BeforeValidator(_officer), _text_schema(200, "the officer (their token subject)")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyCommand(Strict):
    currency: Currency | None = None  # where sent, must be the case's currency


# --- forwarded to case-service ---------------------------------------------------------


class NoticeCreate(Strict):
    """A demand served on the borrower. Only with `proof` of delivery does it interrupt
    limitation (Civil Code art. 195; SPC limitation provisions art. 8)."""

    kind: Literal["collection_notice", "demand_letter", "legal_notice"]
    delivered_via: Literal[
        "sms", "email", "app_push", "letter", "registered_mail", "in_person", "courier"
    ]
    served_at: Instant
    proof: Text | None = None


class LawsuitCreate(MoneyCommand):
    court: Text
    docket_number: Reference
    claim_amount: Money
    filed_at: Instant


class AssetPreservationCreate(MoneyCommand):
    court_order_ref: Reference
    amount: Money
    granted_at: Instant


class JudgmentCreate(MoneyCommand):
    docket_number: Reference
    outcome: Literal["in_favour", "against", "settled_in_court"]
    awarded_amount: MoneyOrZero
    entered_at: Instant


class EnforcementCreate(Strict):
    enforcement_ref: Reference
    started_at: Instant


class GuarantorDemandCreate(MoneyCommand):
    guarantor_id: Identifier
    amount: Money
    served_at: Instant
    proof: Text | None = None


class WriteOffCreate(Strict):
    reason: Text
    approved_by: Text
    written_off_at: Instant


# --- kept in legal-service -------------------------------------------------------------


class LegalCostCreate(MoneyCommand):
    kind: LegalCostKind
    amount: Money
    incurred_on: BusinessDate
    reference: Reference | None = None
    description: Note | None = None


class EnforcementOutcomeCreate(MoneyCommand):
    """How an enforcement ended; no_assets_found is 终结本次执行程序 (no property found)."""

    enforcement_ref: Reference
    outcome: Literal["recovered_in_full", "partially_recovered", "no_assets_found", "terminated"]
    recovered_amount: MoneyOrZero
    ended_on: BusinessDate


class SignalCreate(Strict):
    kind: Literal["vanished", "deceased", "other_creditors", "asset_transfer"]
    noted_on: BusinessDate
    source: Text | None = None


class AssignmentUpdate(Strict):
    officer: OfficerName


# --- responses -------------------------------------------------------------------------


class CommandQueued(BaseModel):
    case_id: UUID
    command: str
    idempotency_key: str
    command_id: int
    status: Literal["queued"] = "queued"
    detail: str = "case-service is unavailable; the command is queued and will be delivered once"


Forwarding = Literal["accepted", "queued"]


class Recorded(BaseModel):
    case_id: UUID
    record_id: str
    created: bool
    # A legal cost only: case-service recorded it, or it is queued and delivered once.
    forwarded: Forwarding | None = None


class MoneyPublic(BaseModel):
    amount: str
    currency: str


class PipelineItem(BaseModel):
    case_id: str
    loan_id: str | None
    stage: str
    court: str | None
    docket_number: str | None
    officer: str | None
    outstanding: MoneyPublic
    claim_amount: MoneyPublic | None
    limitation_expires_on: date | None
    has_guarantors: bool
    has_collateral: bool


class PipelinePage(BaseModel):
    items: list[PipelineItem]
    next_cursor: str | None


class LimitationItem(BaseModel):
    case_id: str
    loan_id: str | None
    stage: str
    officer: str | None
    outstanding: MoneyPublic
    limitation_runs_from: date | None
    limitation_expires_on: date
    days_left: int
    expired: bool


class LimitationPage(BaseModel):
    as_of: date
    expiring_within_days: int
    total: int | None  # on the first page
    items: list[LimitationItem]
    next_cursor: str | None


class DailyRunPublic(BaseModel):
    run_date: str
    cases_seen: int
    tasks_emitted: int
    tasks_already_emitted: int
    by_type: dict[str, int]
    seconds: float


class InterruptionPublic(BaseModel):
    on: date
    kind: str
    source: str
    proof: str | None
    counts: bool


class LimitationPublic(BaseModel):
    years: int
    started_on: date | None
    runs_from: date | None
    expires_on: date | None
    days_left: int | None
    expired: bool
    alert_band_days: int | None
    interruptions: list[InterruptionPublic]


class EffectiveCollectionPublic(BaseModel):
    evidenced: bool
    first_receipt_on: date | None
    last_receipt_on: date | None
    gap_days: int | None
    required_gap_days: int


class CostBenefitPublic(BaseModel):
    claim: MoneyPublic
    recovery_rate: str
    expected_recovery: MoneyPublic
    cost_so_far: MoneyPublic
    cost_to_come: MoneyPublic
    net_benefit: MoneyPublic
    worth_pursuing: bool
    assumptions: list[str]


class RecommendationPublic(BaseModel):
    kind: str
    reason: str
    key: str
    data: dict[str, Any]


class TaskPublic(BaseModel):
    task_id: str
    task_type: str
    reason: str
    emitted_at: datetime


class LegalCostPublic(BaseModel):
    kind: str
    amount: str
    currency: str
    incurred_on: date
    reference: str | None


class GuarantorPublic(BaseModel):
    id: str
    demanded: bool


class LegalCasePublic(BaseModel):
    """The legal file of a case (GET /v1/legal/cases/{case_id})."""

    case_id: str
    loan_id: str | None
    version: int | None
    status: str
    stage: str
    officer: str | None
    referred_on: date | None
    days_past_due: int
    bucket: str  # from days past due on the bank's business date, as case-service derives it
    arrears: MoneyPublic
    outstanding: MoneyPublic
    guarantors: list[GuarantorPublic]
    collateral: dict[str, Any] | None
    lawsuits: dict[str, dict[str, Any]]
    court: str | None
    docket_number: str | None
    claim_amount: MoneyPublic | None
    asset_preservation: dict[str, Any] | None
    judgment: dict[str, Any] | None
    enforcement: dict[str, Any] | None
    enforcement_outcome: dict[str, Any] | None
    signals: list[str]
    limitation: LimitationPublic
    effective_collection: EffectiveCollectionPublic
    cost_benefit: CostBenefitPublic
    legal_costs: list[LegalCostPublic]
    recommendations: list[RecommendationPublic]
    tasks: list[TaskPublic]
