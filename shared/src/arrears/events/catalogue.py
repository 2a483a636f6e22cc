"""Typed data of every case event, for consumers.

Generated from docs/schemas by `python -m arrears_dev.event_types`: do not edit by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self

from arrears.events.types import (
    CaseEventData,
    boolean,
    day,
    decimal,
    int_map,
    integer,
    moment,
    obj,
    objects,
    optional,
    text,
    texts,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetPreservationGranted(CaseEventData):
    """诉讼保全: the court froze assets up to `amount` for the lawsuit `docket_number`."""

    event_name: ClassVar[str] = "AssetPreservationGranted"
    amount: Decimal
    court_order_ref: str
    currency: str
    docket_number: str
    granted_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            court_order_ref=text(data["court_order_ref"]),
            currency=text(data["currency"]),
            docket_number=text(data["docket_number"]),
            granted_at=moment(data["granted_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseClosed(CaseEventData):
    """Data of the CaseClosed case event."""

    event_name: ClassVar[str] = "CaseClosed"
    closed_at: datetime
    reason: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            closed_at=moment(data["closed_at"]),
            reason=text(data["reason"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseOpened(CaseEventData):
    """Version 2 adds `jurisdiction` and `borrower.candidate_timezones`."""

    event_name: ClassVar[str] = "CaseOpened"
    borrower: Mapping[str, Any]
    collateral: Mapping[str, Any] | None
    currency: str
    guarantors: tuple[Mapping[str, Any], ...]
    jurisdiction: str | None = None
    loan_id: str
    principal: Decimal
    product: str
    rules: Mapping[str, Any]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            borrower=obj(data["borrower"]),
            collateral=optional(obj, data["collateral"]),
            currency=text(data["currency"]),
            guarantors=objects(data["guarantors"]),
            jurisdiction=optional(text, data.get("jurisdiction")),
            loan_id=text(data["loan_id"]),
            principal=decimal(data["principal"]),
            product=text(data["product"]),
            rules=obj(data["rules"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseReopened(CaseEventData):
    """Data of the CaseReopened case event."""

    event_name: ClassVar[str] = "CaseReopened"
    reason: str
    reopened_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            reason=text(data["reason"]),
            reopened_at=moment(data["reopened_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintReceived(CaseEventData):
    """Data of the ComplaintReceived case event."""

    event_name: ClassVar[str] = "ComplaintReceived"
    category: str
    channel: str
    complaint_id: str
    description: Any
    received_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            category=text(data["category"]),
            channel=text(data["channel"]),
            complaint_id=text(data["complaint_id"]),
            description=data["description"],
            received_at=moment(data["received_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintResolved(CaseEventData):
    """Data of the ComplaintResolved case event."""

    event_name: ClassVar[str] = "ComplaintResolved"
    complaint_id: str
    resolution: Any
    resolved_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            complaint_id=text(data["complaint_id"]),
            resolution=data["resolution"],
            resolved_at=moment(data["resolved_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactAttempted(CaseEventData):
    """Version 2 adds `caller_line`: the bank's outbound line the call was placed from."""

    event_name: ClassVar[str] = "ContactAttempted"
    agent_id: str | None
    caller_line: str | None = None
    channel: str
    contact_point: Any
    local_time_of_day: str
    notes: Any
    occurred_at: datetime
    outcome: str
    party: str
    recording_ref: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            agent_id=optional(text, data["agent_id"]),
            caller_line=optional(text, data.get("caller_line")),
            channel=text(data["channel"]),
            contact_point=data["contact_point"],
            local_time_of_day=text(data["local_time_of_day"]),
            notes=data["notes"],
            occurred_at=moment(data["occurred_at"]),
            outcome=text(data["outcome"]),
            party=text(data["party"]),
            recording_ref=optional(text, data["recording_ref"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactLost(CaseEventData):
    """失联: the 3:3:3 rule was met without reaching the borrower."""

    event_name: ClassVar[str] = "ContactLost"
    as_of: datetime
    call_attempts: int
    numbers_tried: int
    sms_sent: int
    times_of_day: tuple[str, ...]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            as_of=moment(data["as_of"]),
            call_attempts=integer(data["call_attempts"]),
            numbers_tried=integer(data["numbers_tried"]),
            sms_sent=integer(data["sms_sent"]),
            times_of_day=texts(data["times_of_day"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactPointAdded(CaseEventData):
    """A number or e-mail address the case did not know: who it belongs to, where it came"""

    event_name: ClassVar[str] = "ContactPointAdded"
    added_at: datetime
    channel_kind: str
    contact_point: Any
    kind: str
    owner: str
    source: str
    timezone: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            added_at=moment(data["added_at"]),
            channel_kind=text(data["channel_kind"]),
            contact_point=data["contact_point"],
            kind=text(data["kind"]),
            owner=text(data["owner"]),
            source=text(data["source"]),
            timezone=optional(text, data["timezone"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRegained(CaseEventData):
    """Data of the ContactRegained case event."""

    event_name: ClassVar[str] = "ContactRegained"
    channel: str
    occurred_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            channel=text(data["channel"]),
            occurred_at=moment(data["occurred_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DelinquencyBucketChanged(CaseEventData):
    """Data of the DelinquencyBucketChanged case event."""

    event_name: ClassVar[str] = "DelinquencyBucketChanged"
    as_of: date
    days_past_due: int
    from_bucket: str
    to_bucket: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            as_of=day(data["as_of"]),
            days_past_due=integer(data["days_past_due"]),
            from_bucket=text(data["from_bucket"]),
            to_bucket=text(data["to_bucket"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DisputeRaised(CaseEventData):
    """Data of the DisputeRaised case event."""

    event_name: ClassVar[str] = "DisputeRaised"
    raised_at: datetime
    reason: Any

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            raised_at=moment(data["raised_at"]),
            reason=data["reason"],
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EnforcementStarted(CaseEventData):
    """Data of the EnforcementStarted case event."""

    event_name: ClassVar[str] = "EnforcementStarted"
    docket_number: str
    enforcement_ref: str
    started_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            docket_number=text(data["docket_number"]),
            enforcement_ref=text(data["enforcement_ref"]),
            started_at=moment(data["started_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldVisitMade(CaseEventData):
    """Data of the FieldVisitMade case event."""

    event_name: ClassVar[str] = "FieldVisitMade"
    address: Any
    agent_id: str | None
    notes: Any
    outcome: str
    visited_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            address=data["address"],
            agent_id=optional(text, data["agent_id"]),
            notes=data["notes"],
            outcome=text(data["outcome"]),
            visited_at=moment(data["visited_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class GuarantorDemanded(CaseEventData):
    """Data of the GuarantorDemanded case event."""

    event_name: ClassVar[str] = "GuarantorDemanded"
    amount: Decimal
    currency: str
    guarantor_id: str
    proof: str | None
    served_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            currency=text(data["currency"]),
            guarantor_id=text(data["guarantor_id"]),
            proof=optional(text, data["proof"]),
            served_at=moment(data["served_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgmentEntered(CaseEventData):
    """Data of the JudgmentEntered case event."""

    event_name: ClassVar[str] = "JudgmentEntered"
    awarded_amount: Decimal
    currency: str
    docket_number: str
    entered_at: datetime
    outcome: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            awarded_amount=decimal(data["awarded_amount"]),
            currency=text(data["currency"]),
            docket_number=text(data["docket_number"]),
            entered_at=moment(data["entered_at"]),
            outcome=text(data["outcome"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JurisdictionChanged(CaseEventData):
    """The profile governing contact changes (the borrower moved, a portfolio transfer)."""

    event_name: ClassVar[str] = "JurisdictionChanged"
    changed_at: datetime
    changed_by: str | None
    from_jurisdiction: str
    reason: str
    to_jurisdiction: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            changed_at=moment(data["changed_at"]),
            changed_by=optional(text, data["changed_by"]),
            from_jurisdiction=text(data["from_jurisdiction"]),
            reason=text(data["reason"]),
            to_jurisdiction=text(data["to_jurisdiction"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LawsuitFiled(CaseEventData):
    """Data of the LawsuitFiled case event."""

    event_name: ClassVar[str] = "LawsuitFiled"
    claim_amount: Decimal
    court: str
    currency: str
    docket_number: str
    filed_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            claim_amount=decimal(data["claim_amount"]),
            court=text(data["court"]),
            currency=text(data["currency"]),
            docket_number=text(data["docket_number"]),
            filed_at=moment(data["filed_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalCostIncurred(CaseEventData):
    """A cost of pursuing the claim (court or lawyer's fee, preservation, enforcement...)."""

    event_name: ClassVar[str] = "LegalCostIncurred"
    amount: Decimal
    currency: str
    description: Any
    incurred_on: date
    kind: str
    reference: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            currency=text(data["currency"]),
            description=data["description"],
            incurred_on=day(data["incurred_on"]),
            kind=text(data["kind"]),
            reference=optional(text, data["reference"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalHoldPlaced(CaseEventData):
    """Data of the LegalHoldPlaced case event."""

    event_name: ClassVar[str] = "LegalHoldPlaced"
    basis: str
    hold_id: str
    placed_by: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            basis=text(data["basis"]),
            hold_id=text(data["hold_id"]),
            placed_by=optional(text, data["placed_by"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LegalHoldReleased(CaseEventData):
    """Data of the LegalHoldReleased case event."""

    event_name: ClassVar[str] = "LegalHoldReleased"
    hold_id: str
    reason: str
    released_by: str | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            hold_id=text(data["hold_id"]),
            reason=text(data["reason"]),
            released_by=optional(text, data["released_by"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeServed(CaseEventData):
    """Data of the NoticeServed case event."""

    event_name: ClassVar[str] = "NoticeServed"
    delivered_via: str
    interrupts_limitation: bool
    kind: str
    proof: str | None
    served_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            delivered_via=text(data["delivered_via"]),
            interrupts_limitation=boolean(data["interrupts_limitation"]),
            kind=text(data["kind"]),
            proof=optional(text, data["proof"]),
            served_at=moment(data["served_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentMissed(CaseEventData):
    """Data of the PaymentMissed case event."""

    event_name: ClassVar[str] = "PaymentMissed"
    amount: Decimal
    currency: str
    due_date: date
    installment: int

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            currency=text(data["currency"]),
            due_date=day(data["due_date"]),
            installment=integer(data["installment"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentPlanAgreed(CaseEventData):
    """Data of the PaymentPlanAgreed case event."""

    event_name: ClassVar[str] = "PaymentPlanAgreed"
    agreed_at: datetime
    approved_by: str
    currency: str
    installments: tuple[Mapping[str, Any], ...]
    kind: str
    plan_number: int
    superseded: tuple[str, ...]
    total: Decimal

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            agreed_at=moment(data["agreed_at"]),
            approved_by=text(data["approved_by"]),
            currency=text(data["currency"]),
            installments=objects(data["installments"]),
            kind=text(data["kind"]),
            plan_number=integer(data["plan_number"]),
            superseded=texts(data["superseded"]),
            total=decimal(data["total"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentReceived(CaseEventData):
    """Data of the PaymentReceived case event."""

    event_name: ClassVar[str] = "PaymentReceived"
    allocations: tuple[Mapping[str, Any], ...]
    amount: Decimal
    currency: str
    paid_at: datetime
    promise_id: str | None
    reference: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            allocations=objects(data["allocations"]),
            amount=decimal(data["amount"]),
            currency=text(data["currency"]),
            paid_at=moment(data["paid_at"]),
            promise_id=optional(text, data["promise_id"]),
            reference=text(data["reference"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonalDataErased(CaseEventData):
    """The case's subjects' keys were destroyed: its personal fields read as erased."""

    event_name: ClassVar[str] = "PersonalDataErased"
    as_of: date
    closed_on: date
    jurisdiction_rule: str
    retention_years: int

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            as_of=day(data["as_of"]),
            closed_on=day(data["closed_on"]),
            jurisdiction_rule=text(data["jurisdiction_rule"]),
            retention_years=integer(data["retention_years"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacedWithAgency(CaseEventData):
    """Data of the PlacedWithAgency case event."""

    event_name: ClassVar[str] = "PlacedWithAgency"
    agency_id: str
    consent_ref: str
    placed_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            agency_id=text(data["agency_id"]),
            consent_ref=text(data["consent_ref"]),
            placed_at=moment(data["placed_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseBroken(CaseEventData):
    """Data of the PromiseBroken case event."""

    event_name: ClassVar[str] = "PromiseBroken"
    amount: Decimal
    as_of: date
    currency: str
    paid_amount: Decimal
    promise_id: str
    promised_date: date

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            as_of=day(data["as_of"]),
            currency=text(data["currency"]),
            paid_amount=decimal(data["paid_amount"]),
            promise_id=text(data["promise_id"]),
            promised_date=day(data["promised_date"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseKept(CaseEventData):
    """Data of the PromiseKept case event."""

    event_name: ClassVar[str] = "PromiseKept"
    amount: Decimal
    currency: str
    kept_on: date
    promise_id: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            currency=text(data["currency"]),
            kept_on=day(data["kept_on"]),
            promise_id=text(data["promise_id"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PromiseToPayMade(CaseEventData):
    """Data of the PromiseToPayMade case event."""

    event_name: ClassVar[str] = "PromiseToPayMade"
    amount: Decimal
    currency: str
    made_at: datetime
    promise_id: str
    promised_date: date

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            currency=text(data["currency"]),
            made_at=moment(data["made_at"]),
            promise_id=text(data["promise_id"]),
            promised_date=day(data["promised_date"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecalledFromAgency(CaseEventData):
    """Data of the RecalledFromAgency case event."""

    event_name: ClassVar[str] = "RecalledFromAgency"
    agency_id: str
    reason: str
    recalled_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            agency_id=text(data["agency_id"]),
            reason=text(data["reason"]),
            recalled_at=moment(data["recalled_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReminderSent(CaseEventData):
    """Data of the ReminderSent case event."""

    event_name: ClassVar[str] = "ReminderSent"
    delivered_via: str
    proof: str | None
    served_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            delivered_via=text(data["delivered_via"]),
            proof=optional(text, data["proof"]),
            served_at=moment(data["served_at"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskGraded(CaseEventData):
    """Data of the RiskGraded case event."""

    event_name: ClassVar[str] = "RiskGraded"
    as_of: date
    factors: Mapping[str, int]
    grade: str
    score: int

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            as_of=day(data["as_of"]),
            factors=int_map(data["factors"]),
            grade=text(data["grade"]),
            score=integer(data["score"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class TimezoneCandidateAdded(CaseEventData):
    """Another zone the borrower may be in (a new address, a phone number's country): the"""

    event_name: ClassVar[str] = "TimezoneCandidateAdded"
    added_at: datetime
    source: str
    timezone: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            added_at=moment(data["added_at"]),
            source=text(data["source"]),
            timezone=text(data["timezone"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class WrittenOff(CaseEventData):
    """Data of the WrittenOff case event."""

    event_name: ClassVar[str] = "WrittenOff"
    amount: Decimal
    approved_by: str
    currency: str
    days_past_due: int
    reason: str
    written_off_at: datetime

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            amount=decimal(data["amount"]),
            approved_by=text(data["approved_by"]),
            currency=text(data["currency"]),
            days_past_due=integer(data["days_past_due"]),
            reason=text(data["reason"]),
            written_off_at=moment(data["written_off_at"]),
        )


CASE_EVENT_TYPES: dict[str, type[CaseEventData]] = {
    "AssetPreservationGranted": AssetPreservationGranted,
    "CaseClosed": CaseClosed,
    "CaseOpened": CaseOpened,
    "CaseReopened": CaseReopened,
    "ComplaintReceived": ComplaintReceived,
    "ComplaintResolved": ComplaintResolved,
    "ContactAttempted": ContactAttempted,
    "ContactLost": ContactLost,
    "ContactPointAdded": ContactPointAdded,
    "ContactRegained": ContactRegained,
    "DelinquencyBucketChanged": DelinquencyBucketChanged,
    "DisputeRaised": DisputeRaised,
    "EnforcementStarted": EnforcementStarted,
    "FieldVisitMade": FieldVisitMade,
    "GuarantorDemanded": GuarantorDemanded,
    "JudgmentEntered": JudgmentEntered,
    "JurisdictionChanged": JurisdictionChanged,
    "LawsuitFiled": LawsuitFiled,
    "LegalCostIncurred": LegalCostIncurred,
    "LegalHoldPlaced": LegalHoldPlaced,
    "LegalHoldReleased": LegalHoldReleased,
    "NoticeServed": NoticeServed,
    "PaymentMissed": PaymentMissed,
    "PaymentPlanAgreed": PaymentPlanAgreed,
    "PaymentReceived": PaymentReceived,
    "PersonalDataErased": PersonalDataErased,
    "PlacedWithAgency": PlacedWithAgency,
    "PromiseBroken": PromiseBroken,
    "PromiseKept": PromiseKept,
    "PromiseToPayMade": PromiseToPayMade,
    "RecalledFromAgency": RecalledFromAgency,
    "ReminderSent": ReminderSent,
    "RiskGraded": RiskGraded,
    "TimezoneCandidateAdded": TimezoneCandidateAdded,
    "WrittenOff": WrittenOff,
}
