"""Given-events / when-command / then-events helpers for the CollectionCase tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from case_service.domain import CollectionCase

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TODAY = NOW.date()

Step = Callable[[CollectionCase], None]


def borrower(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "B-1",
        "name": "Li Wei",
        "timezone": "Asia/Shanghai",
        "address": "1 Renmin Road, Shanghai",
        "phones": [
            {"number": "+8613800000001", "kind": "mobile", "owner": "borrower"},
            {"number": "+8613800000002", "kind": "home", "owner": "borrower"},
            {"number": "+8613800000003", "kind": "mobile", "owner": "spouse"},
        ],
        **overrides,
    }


def open_case(now: datetime = NOW, **overrides: Any) -> CollectionCase:
    fields: dict[str, Any] = {
        "loan_id": "L-1001",
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": Decimal("100000.00"),
        "borrower": borrower(),
        "guarantors": [{"id": "G-1", "name": "Wang Fang", "phones": []}],
        "collateral": None,
        **overrides,
    }
    return CollectionCase.open(**fields, now=now)


def given(*steps: Step, **open_overrides: Any) -> CollectionCase:
    """A case opened and taken through `steps`, with its recorded events collected."""
    case = open_case(**open_overrides)
    for step in steps:
        step(case)
    case.collect_events()
    return case


def new_events(case: CollectionCase) -> list[Any]:
    return list(case.collect_events())


def names(case: CollectionCase) -> list[str]:
    return [type(e).__name__ for e in case.collect_events()]


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- steps ------------------------------------------------------------------------------


def missed(n: int, due: date, amount: str = "1200.00", now: datetime = NOW) -> Step:
    def step(case: CollectionCase) -> None:
        case.record_missed_payment(installment=n, due_date=due, amount=Decimal(amount), now=now)

    return step


def paid(amount: str, reference: str = "PAY-1", now: datetime = NOW) -> Step:
    def step(case: CollectionCase) -> None:
        case.record_payment(amount=Decimal(amount), paid_at=now, reference=reference, now=now)

    return step


def promised(amount: str, days: int = 7, now: datetime = NOW) -> Step:
    def step(case: CollectionCase) -> None:
        case.make_promise(
            amount=Decimal(amount), promised_date=now.date() + timedelta(days=days), now=now
        )

    return step


def aged(day: date, now: datetime = NOW) -> Step:
    def step(case: CollectionCase) -> None:
        case.age(today=day, now=now)

    return step


def called(
    number: str,
    when: datetime,
    outcome: str = "no_answer",
    channel: str = "call",
    recording_ref: str | None = None,
    party: str | None = None,
) -> Step:
    def step(case: CollectionCase) -> None:
        case.record_contact_attempt(
            channel=channel,
            # Whose the number is by the case's record, unless the test says otherwise.
            party=party or case.owner_of(number) or "borrower",
            contact_point=number,
            outcome=outcome,
            occurred_at=when,
            agent_id="A-1",
            recording_ref=recording_ref,
            notes=None,
            now=max(when, NOW),
        )

    return step


def texted(number: str, when: datetime, outcome: str = "delivered") -> Step:
    return called(number, when, outcome=outcome, channel="sms")


def sued(docket: str = "2026-PD-1", claim: str = "1200.00", now: datetime = NOW) -> Step:
    def step(case: CollectionCase) -> None:
        case.file_lawsuit(
            court="Shanghai Pudong Court",
            docket_number=docket,
            claim_amount=Decimal(claim),
            filed_at=now,
            now=now,
        )

    return step


def judged(docket: str = "2026-PD-1", outcome: str = "in_favour", awarded: str = "1200.00") -> Step:
    def step(case: CollectionCase) -> None:
        case.enter_judgment(
            docket_number=docket,
            outcome=outcome,
            awarded_amount=Decimal(awarded),
            entered_at=NOW,
            now=NOW,
        )

    return step


def written_off(now: datetime = NOW) -> Step:
    def step(case: CollectionCase) -> None:
        case.write_off(reason="uncollectable", approved_by="CRO", written_off_at=now, now=now)

    return step
