"""Lost contact (失联) and the 3:3:3 rule.

Before a borrower is declared unreachable, collectors must have tried at least three
different numbers, at three different times of day (in the borrower's local time),
three or more call attempts in all, and sent at least one SMS, all since the last
right-party contact. The thresholds live in CasePolicy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .policy import CasePolicy

REACHABLE = "reachable"
LOST = "lost"
CONNECTED_OUTCOMES = ("right_party_contact", "third_party_contact")


def time_of_day(moment: datetime, timezone: str) -> str:
    """morning before 12:00, afternoon 12:00-18:00, evening from 18:00 (local time)."""
    hour = moment.astimezone(ZoneInfo(timezone)).hour
    if hour < 12:
        return "morning"
    if hour < 18:
        return "afternoon"
    return "evening"


def fresh_tracking() -> dict[str, Any]:
    return {"numbers": [], "times_of_day": [], "call_attempts": 0, "sms_sent": 0}


def track_attempt(
    tracking: dict[str, Any], *, channel: str, contact_point: str, outcome: str, period: str
) -> None:
    """Count one non-right-party attempt towards the 3:3:3 rule (mutates `tracking`)."""
    if channel == "call":
        tracking["call_attempts"] += 1
        if contact_point not in tracking["numbers"]:
            tracking["numbers"].append(contact_point)
        if period not in tracking["times_of_day"]:
            tracking["times_of_day"].append(period)
    elif channel == "sms" and outcome != "failed":
        tracking["sms_sent"] += 1


def rule_333_met(tracking: dict[str, Any], policy: CasePolicy) -> bool:
    return (
        len(tracking["numbers"]) >= policy.lost_contact_numbers
        and len(tracking["times_of_day"]) >= policy.lost_contact_times_of_day
        and tracking["call_attempts"] >= policy.lost_contact_call_attempts
        and tracking["sms_sent"] >= policy.lost_contact_sms
    )
