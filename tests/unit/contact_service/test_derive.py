"""Derived values of the read model: arrears, days past due, queue priority, blocking."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from arrears import business_date
from contact_service.policy import CN, US_REG_F
from contact_service.policy import model as m
from contact_service.policy.profiles import PROFILES, Profile
from contact_service.readmodel import derive
from hypothesis import given, settings
from hypothesis import strategies as st

INSTALMENTS = {
    "1": {"due_date": "2026-10-01", "amount": "1200.00", "paid": "1200.00", "superseded": False},
    "2": {"due_date": "2026-10-15", "amount": "1200.00", "paid": "200.00", "superseded": False},
    "3": {"due_date": "2026-11-01", "amount": "1200.00", "paid": "0", "superseded": True},
    "P1-1": {"due_date": "2026-11-20", "amount": "600.00", "paid": "0", "superseded": False},
}


def _row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "arrears": Decimal("1000.00"),
        "oldest_due_on": date(2026, 10, 15),
        "risk_grade": "low",
        "open_promise_due": None,
        "payday": None,
        "flags": [],
        "in_dispute": False,
        "open_complaints": [],
    }
    return base | values


def test_arrears_count_open_installments_already_due() -> None:
    assert derive.arrears_on(INSTALMENTS, date(2026, 11, 2)) == Decimal("1000.00")
    assert derive.arrears_on(INSTALMENTS, date(2026, 11, 20)) == Decimal("1600.00")


def test_days_past_due_count_from_the_oldest_open_installment() -> None:
    oldest = derive.oldest_due(INSTALMENTS)
    assert oldest == date(2026, 10, 15)
    assert derive.days_past_due(oldest, date(2026, 11, 2)) == 18
    assert derive.days_past_due(None, date(2026, 11, 2)) == 0


def test_a_promise_due_today_comes_first_then_risk_then_arrears() -> None:
    today = date(2026, 11, 2)
    promise_today = derive.priority(_row(open_promise_due=today), today)
    risky = derive.priority(_row(risk_grade="doubtful_loss", arrears=Decimal("10")), today)
    big = derive.priority(_row(arrears=Decimal("900000")), today)
    small = derive.priority(_row(), today)
    assert promise_today > risky > big > small


def test_a_payday_just_passed_lifts_a_case_within_its_risk_grade() -> None:
    today = date(2026, 11, 2)
    paid_yesterday = derive.priority(_row(payday=1), today)
    pay_next_week = derive.priority(_row(payday=9, arrears=Decimal("99999")), today)
    assert paid_yesterday > pay_next_week
    assert derive.near_payday(30, date(2026, 12, 1))  # across a month end


def test_older_debt_breaks_ties() -> None:
    today = date(2026, 11, 2)
    older = derive.priority(_row(oldest_due_on=date(2026, 9, 1)), today)
    assert older > derive.priority(_row(), today)


def test_lasting_bars_take_a_case_out_of_the_queues() -> None:
    assert not derive.blocked(_row(), CN)
    assert derive.blocked(_row(flags=["deceased"]), CN)
    assert derive.blocked(_row(in_dispute=True), US_REG_F)
    assert derive.blocked(_row(open_complaints=["c-1"]), CN)
    assert not derive.blocked(_row(open_complaints=["c-1"]), US_REG_F)
    assert derive.blocked(_row(flags=["attorney"]), US_REG_F)
    assert not derive.blocked(_row(flags=["attorney"]), CN)


_MONEY = st.decimals(min_value=0, max_value=99_999, places=2).map(str)
_INSTALMENT = st.fixed_dictionaries(
    {
        "due_date": st.dates(date(2026, 1, 1), date(2027, 12, 31)).map(date.isoformat),
        "amount": _MONEY,
        "paid": st.one_of(st.just("0"), _MONEY),
        "superseded": st.booleans(),
    }
)


@given(st.dictionaries(st.text("P0123456789-", min_size=1, max_size=5), _INSTALMENT, max_size=12),
       st.dates(date(2026, 1, 1), date(2027, 12, 31)))  # fmt: skip
def test_arrears_and_oldest_in_one_pass_are_the_two_apart(
    installments: dict[str, Any], day: date
) -> None:
    assert derive.arrears_and_oldest(installments, day) == (
        derive.arrears_on(installments, day),
        derive.oldest_due(installments),
    )
    unpaid = [
        i
        for i in installments.values()
        if not i["superseded"] and Decimal(i["paid"]) < Decimal(i["amount"])
    ]
    assert derive.open_installments(installments) == unpaid


def _priority_as_first_written(row: dict[str, Any], day: date) -> int:
    """`derive.priority` as it read before it was made cheaper: the reference."""
    promise_today = row.get("open_promise_due") == day
    rank = derive.RISK_RANK.get(row.get("risk_grade") or "", 0)
    arrears = min(int(Decimal(row.get("arrears") or 0)), 9_999_999_999)
    return (
        int(promise_today) * 10**17
        + rank * 10**16
        + int(derive.near_payday(row.get("payday"), day)) * 10**15
        + arrears * 10**5
        + derive.overdue_rank(row.get("oldest_due_on"))
    )


@settings(max_examples=500, deadline=None)
@given(
    arrears=st.one_of(
        st.none(),
        st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False),
        st.integers(0, 10**11),
        st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False).map(str),
    ),
    oldest=st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2199, 12, 31))),
    risk=st.sampled_from([None, "", "low", "medium", "high", "doubtful_loss", "other"]),
    promise=st.one_of(st.none(), st.dates(date(2026, 10, 30), date(2026, 11, 3))),
    payday=st.one_of(st.none(), st.integers(1, 31)),
    day=st.dates(date(2026, 10, 30), date(2026, 11, 3)),
)
def test_priority_is_as_first_written(
    arrears: Any, oldest: date | None, risk: str | None, promise: date | None,
    payday: int | None, day: date,
) -> None:  # fmt: skip
    row = {"arrears": arrears, "oldest_due_on": oldest, "risk_grade": risk,
           "open_promise_due": promise, "payday": payday}  # fmt: skip
    assert derive.priority(row, day) == _priority_as_first_written(row, day)


def _blocked_as_first_written(row: dict[str, Any], profile: Profile) -> bool:
    """`derive.blocked` before a case with nothing to bar it returned at once: the reference."""
    flags = set(row.get("flags") or ())
    if flags & derive.LASTING_FLAGS:
        return True
    if profile.honour_attorney and m.FLAG_ATTORNEY in flags:
        return True
    if profile.honour_dispute and row.get("in_dispute"):
        return True
    return bool(profile.honour_open_complaint and row.get("open_complaints"))


@settings(max_examples=300, deadline=None)
@given(
    flags=st.one_of(
        st.none(),
        st.lists(st.sampled_from(sorted(m.CASE_FLAGS | {"other"})), max_size=3),
    ),
    in_dispute=st.sampled_from([None, False, True]),
    complaints=st.one_of(st.none(), st.lists(st.just("c-1"), max_size=2)),
    profile=st.sampled_from(sorted(PROFILES.values(), key=lambda p: p.name)),
)
def test_blocked_is_as_first_written(
    flags: list[str] | None, in_dispute: bool | None, complaints: list[str] | None,
    profile: Profile,
) -> None:  # fmt: skip
    row = {"flags": flags, "in_dispute": in_dispute, "open_complaints": complaints}
    assert derive.blocked(row, profile) == _blocked_as_first_written(row, profile)


@given(
    oldest=st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2199, 12, 31))),
    day=st.dates(date(2000, 1, 1), date(2199, 12, 31)),
)
def test_the_cached_bucket_and_rank_are_the_formulas(oldest: date | None, day: date) -> None:
    days = 0 if oldest is None else max(0, (day - oldest).days)
    assert derive.days_past_due(oldest, day) == days
    assert derive.bucket(oldest, day) == business_date.bucket_for(days)
    rank = 0 if oldest is None else min(max((derive.OVERDUE_ANCHOR - oldest).days, 0), 99_999)
    assert derive.overdue_rank(oldest) == rank
