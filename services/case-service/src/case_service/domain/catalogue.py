"""The whole event catalogue by name, and the JSON payload of any event in it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from . import contact_events as c
from . import events as e
from . import legal_events as legal
from . import reach_events as reach
from . import retention
from .events import CaseEvent

EVENT_CLASSES: dict[str, type[CaseEvent]] = {
    cls.__name__: cls
    for cls in (
        e.CaseOpened,
        e.PaymentMissed,
        e.PaymentReceived,
        e.DelinquencyBucketChanged,
        e.RiskGraded,
        c.ReminderSent,
        c.ContactAttempted,
        c.ContactLost,
        c.ContactRegained,
        e.PromiseToPayMade,
        e.PromiseKept,
        e.PromiseBroken,
        legal.NoticeServed,
        c.FieldVisitMade,
        e.PaymentPlanAgreed,
        c.PlacedWithAgency,
        c.RecalledFromAgency,
        legal.GuarantorDemanded,
        c.ComplaintReceived,
        c.ComplaintResolved,
        c.DisputeRaised,
        legal.LawsuitFiled,
        legal.AssetPreservationGranted,
        legal.JudgmentEntered,
        legal.EnforcementStarted,
        legal.LegalCostIncurred,
        e.WrittenOff,
        e.CaseClosed,
        e.CaseReopened,
        reach.JurisdictionChanged,
        reach.ContactPointAdded,
        reach.TimezoneCandidateAdded,
        retention.LegalHoldPlaced,
        retention.LegalHoldReleased,
        retention.PersonalDataErased,
    )
}

_ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic"}
)


def to_json(value: Any) -> Any:
    """Decimal -> str, date/datetime -> ISO 8601, UUID -> str, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def event_payload(event: object) -> dict[str, Any]:
    """An event's own attributes as a JSON-ready dict (without the stream envelope)."""
    return {
        name: to_json(value) for name, value in vars(event).items() if name not in _ENVELOPE_FIELDS
    }
