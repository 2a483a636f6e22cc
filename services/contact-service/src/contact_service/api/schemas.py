"""Request and response bodies of the contact-service HTTP API (snake_case JSON)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field

Channel = Literal["call", "sms", "email", "app_push", "letter", "visit"]
Party = Literal["borrower", "spouse", "co_borrower", "guarantor", "employer", "emergency_contact"]
Outcome = Literal[
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
Direction = Literal["outbound", "inbound"]
Purpose = Literal["collect", "locate", "message"]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Note = Annotated[str, Field(max_length=4000)]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _money(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise ValueError('money must be a decimal string such as "1200.00"')
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError("not a decimal number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValueError("must be greater than 0")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError("must have at most 2 decimal places")
    return amount


Instant = Annotated[AwareDatetime, AfterValidator(_utc)]
Money = Annotated[Decimal, BeforeValidator(_money)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactPermissionCreate(Strict):
    case_id: UUID
    party: Party = "borrower"
    channel: Channel
    contact_point: Text
    at: Instant | None = None  # default: now
    purpose: Purpose = "collect"
    direction: Direction = "outbound"


class ReasonPublic(BaseModel):
    code: str
    message: str
    rule: str


class ProfilePublic(BaseModel):
    name: str
    version: str


class ContactPermissionPublic(BaseModel):
    case_id: UUID
    allowed: bool
    reasons: list[ReasonPublic]
    next_allowed_at: datetime | None
    at: datetime
    contact_point: str  # masked
    profile: ProfilePublic
    notes: list[str]


class ContactPermissionBatchCreate(Strict):
    requests: Annotated[list[ContactPermissionCreate], Field(min_length=1, max_length=500)]


class ContactPermissionBatchPublic(BaseModel):
    decisions: list[ContactPermissionPublic]


class ContactAttemptCreate(Strict):
    """As case-service takes it, plus `direction` and `purpose` (kept here, not forwarded)."""

    channel: Channel
    party: Party = "borrower"
    contact_point: Text
    outcome: Outcome
    occurred_at: Instant
    agent_id: Text | None = None
    recording_ref: Text | None = None
    notes: Note | None = None
    direction: Direction = "outbound"
    purpose: Purpose = "collect"


class PromiseCreate(Strict):
    amount: Money
    promised_date: date
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    # The contact in which the promise was made (checked by the guard, not forwarded).
    channel: Channel = "call"
    contact_point: Text | None = None  # default: the borrower's first number
    direction: Direction = "outbound"
    made_at: Instant | None = None


class CommandQueued(BaseModel):
    case_id: UUID
    command: str
    idempotency_key: str
    status: str  # queued | delivered | ...
    guard: ContactPermissionPublic | None = None


class ClaimCreate(Strict):
    case_id: UUID | None = None  # default: the first case of the queue free to claim
    lease_seconds: Annotated[int, Field(ge=30, le=4 * 3600)] | None = None


class ClaimPublic(BaseModel):
    case_id: UUID
    queue: str
    collector: str
    lease_id: str
    claimed_at: datetime
    expires_at: datetime


class StrategyRef(BaseModel):
    name: str
    version: int | None
    arm: str


class QueueItem(BaseModel):
    case_id: UUID
    loan_ref: str  # masked
    product: str
    bucket: str
    days_past_due: int
    arrears: str
    currency: str
    risk_grade: str | None
    contactability: str
    promise_due: date | None
    promise_amount: str | None
    near_payday: bool
    priority: int
    local_time: str
    contact_point: str | None  # masked: the first number the guard allows now
    claimed_by: str | None
    strategy: StrategyRef


class QueuePage(BaseModel):
    queue: str
    as_of: datetime
    items: list[QueueItem]
    next_offset: int | None


RestrictionKind = Literal[
    "do_not_contact",
    "deceased",
    "bankrupt",
    "attorney",
    "cease_communication",
    "workplace_forbidden",
    "quiet_hours_consent",
    "opt_out",
    "wrong_number",
    "point_do_not_contact",
    "point_valid",
]


class RestrictionCreate(Strict):
    kind: RestrictionKind
    active: bool = True
    channel: Channel | None = None  # opt_out
    contact_point: Text | None = None  # wrong_number, point_do_not_contact, point_valid
    note: Note | None = None


class DailyRunPublic(BaseModel):
    run_date: date
    cases_seen: int
    tasks_emitted: int
    tasks_already_emitted: int
    steps_forbidden: int
    seconds: float
