"""Lost contact (失联) and the 3:3:3 rule, as the bank practice states it.

"Before giving up on an unreachable borrower, use at least three different numbers, each in
three different time periods, three or more times, and send an SMS." Read cell by cell: a
cell is (number, period of the borrower's local day); the rule is met when at least three
different numbers each have an unanswered dial (no answer, busy, voicemail) in each of at
least three different periods (nine cells at the least), and at least one SMS was delivered,
all since the last right-party contact. A wrong or dead number fills no cell: it was not
left unanswered, it does not reach the borrower at all. The periods and thresholds live in
CasePolicy (the same periods as contact-service's profiles).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .policy import DEFAULT_POLICY, CasePolicy

REACHABLE = "reachable"
LOST = "lost"
CONNECTED_OUTCOMES = ("right_party_contact", "third_party_contact")
UNANSWERED_OUTCOMES = ("no_answer", "busy", "voicemail")


def time_of_day(
    moment: datetime,
    timezone: str,
    periods: tuple[tuple[str, int], ...] = DEFAULT_POLICY.lost_contact_periods,
) -> str:
    """The period of the borrower's local day (default: morning before 12:00, afternoon
    12:00-18:00, evening from 18:00)."""
    hour = moment.astimezone(ZoneInfo(timezone)).hour
    name = periods[0][0]
    for period, first_hour in periods:
        if hour >= first_hour:
            name = period
    return name


def fresh_tracking() -> dict[str, Any]:
    return {"numbers": [], "times_of_day": [], "call_attempts": 0, "sms_sent": 0, "cells": []}


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
        cells = tracking.setdefault("cells", [])  # cases tracked before cells were counted
        cell = [contact_point, period]
        if outcome in UNANSWERED_OUTCOMES and cell not in cells:
            cells.append(cell)
    elif channel == "sms" and outcome == "delivered":
        tracking["sms_sent"] += 1


def numbers_with_full_periods(tracking: dict[str, Any], periods_needed: int) -> list[str]:
    """The numbers dialled unanswered in at least `periods_needed` different periods."""
    per_number: dict[str, set[str]] = {}
    for number, period in tracking.get("cells", []):
        per_number.setdefault(number, set()).add(period)
    return [n for n, seen in per_number.items() if len(seen) >= periods_needed]


def rule_333_met(tracking: dict[str, Any], policy: CasePolicy) -> bool:
    full = numbers_with_full_periods(tracking, policy.lost_contact_times_of_day)
    cells = len(tracking.get("cells", []))
    return (
        len(full) >= policy.lost_contact_numbers
        and cells >= policy.lost_contact_call_attempts
        and tracking["sms_sent"] >= policy.lost_contact_sms
    )
