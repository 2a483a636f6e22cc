"""Request and response bodies of the contact-service HTTP API (snake_case JSON).

Every field a caller sends uses the shared strict input types (`arrears.input`): money in one
grammar, RFC 3339 instants within sane bounds, texts without control characters, bounded
integers; a body with a field it does not know is refused (422 naming the field).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from arrears.input import BusinessDate, Currency, Identifier, Instant, Money, Note, Text
from arrears.vocabulary import Channel, Outcome, Party
from pydantic import BaseModel, ConfigDict, Field, model_validator

Direction = Literal["outbound", "inbound"]
Purpose = Literal["collect", "locate", "message"]
# A phone number, e-mail address or postal address: one line, no control characters.
ContactPointText = Annotated[Text, Field(max_length=254)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactPermissionCreate(Strict):
    case_id: UUID
    party: Party = "borrower"
    channel: Channel
    contact_point: ContactPointText
    at: Instant | None = None  # default: now; checked against the clock (422 if far off)
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
    contact_point: ContactPointText
    outcome: Outcome
    occurred_at: Instant
    agent_id: Identifier | None = None
    recording_ref: Identifier | None = None
    notes: Note | None = None
    caller_line: Identifier | None = None  # the bank's outbound line (forwarded)
    direction: Direction = "outbound"
    purpose: Purpose = "collect"


class PromiseCreate(Strict):
    amount: Money
    promised_date: BusinessDate
    currency: Currency | None = None
    # The contact in which the promise was made (checked by the guard, not forwarded).
    channel: Channel = "call"
    contact_point: ContactPointText | None = None  # default: the borrower's first number
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
    lease_seconds: Annotated[int, Field(ge=30, le=4 * 3600, strict=True)] | None = None


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
    "vulnerable",
    "forbearance_offered",
    "arrears_information_sheet_sent",
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


class Evidence(Strict):
    """What proves a consent or a fact that loosens a rule: a call recording or a document,
    and when the borrower gave it."""

    recording_ref: Identifier | None = None
    document_ref: Identifier | None = None
    given_at: Instant

    @model_validator(mode="after")
    def _one_proof(self) -> Evidence:
        if self.recording_ref is None and self.document_ref is None:
            raise ValueError("name the recording_ref or the document_ref that proves it")
        return self


class RestrictionCreate(Strict):
    kind: RestrictionKind
    active: bool = True
    channel: Channel | None = None  # opt_out
    contact_point: ContactPointText | None = None  # wrong_number, point_*
    note: Note | None = None
    # Required where the restriction loosens a rule (quiet-hours consent, forbearance
    # offered, arrears information sheet sent).
    evidence: Evidence | None = None


class DecisionPublic(BaseModel):
    """One stored guard decision: what was asked, under which profile, and why."""

    decision_id: int
    case_id: UUID
    decided_at: datetime
    at: datetime
    use: str  # permission | attempt | promise
    asked_by: str | None
    party: str
    channel: str
    contact_point: str  # masked
    purpose: str
    direction: str
    allowed: bool
    reasons: list[ReasonPublic]
    next_allowed_at: datetime | None
    profile: ProfilePublic
    rules: list[dict[str, str]]  # [{rule, outcome, source}]


class DecisionPage(BaseModel):
    case_id: UUID
    items: list[DecisionPublic]
    next_offset: int | None


class DailyRunPublic(BaseModel):
    run_date: date
    cases_seen: int
    tasks_emitted: int
    tasks_already_emitted: int
    steps_forbidden: int
    seconds: float
