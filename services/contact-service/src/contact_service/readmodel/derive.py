"""Values derived from a case row: arrears, days past due, queue priority, the policy view.

Pure functions over plain mappings, shared by the projection (on every event), the daily
run (once a day, as dates move) and the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from arrears import business_date

from contact_service.policy import model as m
from contact_service.policy.profiles import Profile

RISK_RANK = {"doubtful_loss": 4, "high": 3, "medium": 2, "low": 1}
LASTING_FLAGS = frozenset({m.FLAG_DO_NOT_CONTACT, m.FLAG_DECEASED, m.FLAG_BANKRUPT, m.FLAG_CEASE})
CENTS = Decimal("0.01")


def open_installments(installments: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [i for i in installments.values() if owing_of(i) is not None]


@lru_cache(maxsize=65_536)
def _owed(amount: Any, paid: Any, due_date: Any) -> tuple[Decimal, date] | None:
    """What an installment still owes and its due date; None once paid. Cached: the
    projection derives a case's arrears again on every event, from the same few strings."""
    owed, settled = Decimal(amount), Decimal(paid)
    return (owed - settled, date.fromisoformat(due_date)) if settled < owed else None


def owing_of(installment: Mapping[str, Any]) -> tuple[Decimal, date] | None:
    """What an installment still owes and its due date; None once paid (or superseded)."""
    if installment.get("superseded"):
        return None
    return _owed(installment["amount"], installment["paid"], installment["due_date"])


def arrears_on(installments: Mapping[str, Any], day: date) -> Decimal:
    total = Decimal("0")
    for installment in installments.values():
        owing = owing_of(installment)
        if owing is not None and owing[1] <= day:
            total += owing[0]
    return total.quantize(CENTS)


def oldest_due(installments: Mapping[str, Any]) -> date | None:
    dues = [owing[1] for i in installments.values() if (owing := owing_of(i)) is not None]
    return min(dues) if dues else None


def arrears_and_oldest(installments: Mapping[str, Any], day: date) -> tuple[Decimal, date | None]:
    """`arrears_on(installments, day)` and `oldest_due(installments)` in one pass (the
    projection asks for both on every payment event)."""
    total, oldest = arrears_tally(installments, day)
    return total.quantize(CENTS), oldest


def arrears_tally(installments: Mapping[str, Any], day: date) -> tuple[Decimal, date | None]:
    """`arrears_and_oldest` before the arrears are rounded to cents: a running tally that
    `tally_owing` carries on over an installment added after the others."""
    total, oldest = Decimal("0"), None
    for installment in installments.values():
        total, oldest = tally_owing(total, oldest, owing_of(installment), day)
    return total, oldest


def tally_owing(
    total: Decimal, oldest: date | None, owing: tuple[Decimal, date] | None, day: date
) -> tuple[Decimal, date | None]:
    """The tally with one more installment, the last in the mapping's order, owing `owing`
    (`owing_of` it)."""
    if owing is not None:
        owed, due = owing
        if due <= day:
            total += owed
        if oldest is None or due < oldest:
            oldest = due
    return total, oldest


# Days past due on the bank's business day (arrears.business_date), as case-service counts:
# its very function, not a call wrapping it (the projection asks on every event).
days_past_due = business_date.days_past_due


@lru_cache(maxsize=65_536)  # the projection asks on every event; few dates recur
def bucket(oldest_due_on: date | None, day: date) -> str:
    """The bucket days past due put the case in on the business `day`, as case-service
    derives it (not the last DelinquencyBucketChanged, which comes once a night)."""
    return business_date.bucket_for(days_past_due(oldest_due_on, day))


def near_payday(payday: int | None, day: date) -> bool:
    """The borrower's pay arrived today or in the last two days: a good time to call."""
    if payday is None:
        return False
    return 0 <= (day.day - payday) % 31 <= 2


# Far enough ahead that every unpaid due date lies before it.
OVERDUE_ANCHOR = date(2199, 12, 31)


@lru_cache(maxsize=65_536)  # the projection asks on every event; few dates recur
def overdue_rank(oldest_due_on: date | None) -> int:
    """Larger for an older unpaid due date: ordering by it is ordering by days past due on
    any day, without a stored count that ages (0 when nothing is unpaid)."""
    if oldest_due_on is None:
        return 0
    return min(max((OVERDUE_ANCHOR - oldest_due_on).days, 0), 99_999)


def priority(row: Mapping[str, Any], day: date) -> int:
    """Queue order, highest first: a promise due today, then risk grade, then a payday just
    passed, then arrears (whole units), then days past due (as `overdue_rank`, so the order
    is right on any day). One sortable integer."""
    owed = row.get("arrears") or 0
    # (A Decimal's whole units without the copy `Decimal(owed)` made: the projection asks
    # on every event.)
    whole = int(owed) if type(owed) is Decimal else int(Decimal(owed))
    value = min(whole, 9_999_999_999) * 10**5 + overdue_rank(row.get("oldest_due_on"))
    rank = RISK_RANK.get(row.get("risk_grade") or "", 0)
    if rank:
        value += rank * 10**16
    if row.get("open_promise_due") == day:
        value += 10**17
    payday = row.get("payday")
    if payday is not None and near_payday(payday, day):
        value += 10**15
    return value


def blocked(row: Mapping[str, Any], profile: Profile) -> bool:
    """A lasting bar on collection contact: the case leaves the queues (the guard decides)."""
    listed = row.get("flags")
    if not (listed or row.get("in_dispute") or row.get("open_complaints")):
        return False  # most cases: nothing below can hold, on any profile
    flags = set(listed or ())
    if flags & LASTING_FLAGS:
        return True
    if profile.honour_attorney and m.FLAG_ATTORNEY in flags:
        return True
    if profile.honour_dispute and row.get("in_dispute"):
        return True
    return bool(profile.honour_open_complaint and row.get("open_complaints"))


def case_view(row: Mapping[str, Any], points: Iterable[Mapping[str, Any]]) -> m.CaseView:
    return m.CaseView(
        case_id=str(row["case_id"]),
        timezone=str(row["timezone"]),
        status=str(row["status"]),
        candidate_timezones=tuple(row.get("candidate_timezones") or ()),
        contactability=str(row.get("contactability") or "reachable"),
        flags=frozenset(row.get("flags") or ()),
        opted_out_channels=frozenset(row.get("opted_out_channels") or ()),
        in_dispute=bool(row.get("in_dispute")),
        open_complaints=len(row.get("open_complaints") or ()),
        jurisdiction=row.get("jurisdiction"),
        points=tuple(
            m.ContactPoint(
                value=str(p["value"]),
                party=str(p["party"]),
                kind=str(p["kind"]),
                state=str(p["state"]),
                opted_out=frozenset(p.get("opted_out") or ()),
            )
            for p in points
        ),
    )


def attempt(row: Mapping[str, Any]) -> m.Attempt:
    return m.Attempt(
        occurred_at=row["occurred_at"],
        channel=str(row["channel"]),
        party=str(row["party"]),
        contact_point=str(row["point"]),
        outcome=str(row["outcome"]),
        inbound=bool(row["inbound"]),
        masked=str(row.get("masked") or "[masked]"),
    )
