"""Contact tasks for the dialer, the SMS/e-mail/push gateways, letter printing, field agents
and skip-tracing, on `collections.contact-tasks.v1`.

Each task has a stable id (uuid5 of case, strategy, step and the day the step was due), so
deciding it again - a second daily run, a restart mid-run - yields the same id and it is
emitted once. A task carries no more personal data than its channel needs: a text carries
the number, a letter the address, a call the number; none carries the borrower's name.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy.model import mask_point

TASK_NAMESPACE = uuid.UUID("1b7c6c0e-2f0e-5a55-8f5c-6c0a7d1e9a01")
SEND_REMINDER = "SendReminder"
SCHEDULE_CALL = "ScheduleCall"
DISPATCH_FIELD_VISIT = "DispatchFieldVisit"
SKIP_TRACE = "SkipTrace"
TASK_TYPES = (SEND_REMINDER, SCHEDULE_CALL, DISPATCH_FIELD_VISIT, SKIP_TRACE)
OPT_OUT_TEXT = "Reply STOP to opt out of texts; e-mail: use the unsubscribe link."


def task_id(case_id: str, strategy: str, step: str, occurrence: date) -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, f"{case_id}/{strategy}/{step}/{occurrence.isoformat()}"))


@dataclass(frozen=True)
class ContactTask:
    task_id: str
    task_type: str
    case_id: str
    due_at: datetime
    step: str
    channel: str
    party: str
    strategy: str
    strategy_version: int
    arm: str
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The task's `data` on the topic."""
        return {
            "task_id": self.task_id,
            "case_id": self.case_id,
            "due_at": self.due_at.isoformat(),
            "channel": self.channel,
            "party": self.party,
            "step": self.step,
            "strategy": {"name": self.strategy, "version": self.strategy_version, "arm": self.arm},
            **self.data,
        }


# Emits one task in the caller's transaction (the task outbox); see app wiring.
Emitter = Callable[[AsyncConnection, ContactTask], Awaitable[None]]


def reminder_data(
    *,
    channel: str,
    template: str,
    contact_point: str | None,
    address: str | None,
    currency: str,
    arrears: str,
    opt_out: bool,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "template_id": template,
        "variables": {"amount_due": arrears, "currency": currency},
    }
    if channel in {"sms", "email"} and contact_point:
        data["to"] = contact_point
        data["to_masked"] = mask_point(contact_point)
    if channel == "letter" and address:
        data["address"] = address
    if opt_out and channel in {"sms", "email"}:
        data["opt_out_notice"] = OPT_OUT_TEXT
    return data


def call_data(*, contact_point: str, not_after: datetime | None, purpose: str) -> dict[str, Any]:
    return {
        "contact_point": contact_point,
        "contact_point_masked": mask_point(contact_point),
        "not_after": not_after.isoformat() if not_after else None,
        "purpose": purpose,
        "record_call": True,
    }
