"""Builders for the guard's inputs: a case, a history of attempts, a request."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from contact_service.policy import Attempt, CaseView, ContactPoint, ContactRequest
from contact_service.policy import model as m

SH = "Asia/Shanghai"
NY = "America/New_York"
LA = "America/Los_Angeles"
N1, N2, N3 = "+8613800000001", "+8613800000002", "+8613800000003"
SPOUSE = "+8613900000009"
WORK = "+862188880000"
US1 = "+12125550101"
US_SPOUSE = "+12125550199"
EMERGENCY = "+8613600000000"
GUARANTOR = "+8613700000000"
CO_BORROWER = "+8613700000001"


def local(tz: str, *args: int) -> datetime:
    """A wall-clock time in `tz` as an aware datetime."""
    return datetime(*args, tzinfo=ZoneInfo(tz))  # type: ignore[misc]


def case(
    tz: str = SH,
    *,
    flags: frozenset[str] = frozenset(),
    candidates: tuple[str, ...] = (),
    contactability: str = "reachable",
    points: tuple[ContactPoint, ...] | None = None,
    **kwargs: object,
) -> CaseView:
    default_points = (
        ContactPoint(N1, "borrower", "mobile"),
        ContactPoint(N2, "borrower", "home"),
        ContactPoint(SPOUSE, "spouse", "mobile"),
        ContactPoint(WORK, "employer", "work"),
        ContactPoint(US1, "borrower", "mobile"),
        ContactPoint(US_SPOUSE, "spouse", "mobile"),
        ContactPoint(EMERGENCY, "emergency_contact", "mobile"),
        ContactPoint(GUARANTOR, "guarantor", "mobile"),
        ContactPoint(CO_BORROWER, "co_borrower", "mobile"),
    )
    return CaseView(
        case_id="c-1",
        timezone=tz,
        flags=flags,
        candidate_timezones=candidates,
        contactability=contactability,
        points=default_points if points is None else points,
        **kwargs,  # type: ignore[arg-type]
    )


def calls(
    at: datetime,
    n: int,
    *,
    outcome: str = "no_answer",
    point: str = N1,
    party: str = "borrower",
) -> list[Attempt]:
    return [Attempt(at, "call", party, m.point_key(point), outcome) for _ in range(n)]


def ask(
    at: datetime,
    *,
    party: str = "borrower",
    channel: str = "call",
    point: str = N1,
    purpose: str = "collect",
    inbound: bool = False,
) -> ContactRequest:
    return ContactRequest(party, channel, point, at, purpose, inbound)
