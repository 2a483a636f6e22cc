"""PaymentMissed as a rebuild's fold applies it: most of the events a rebuild folds, read
without the typed class and with the case's arrears carried on from the event before
instead of summed again over every installment (the typed read and the sum were a fifth of
the fold's time).

`LeanMissed.apply` changes the row exactly as `handlers.payment_missed` does, or declines
(returns False, the row untouched) and the typed handler runs, giving the same answer or
naming what is wrong: data of an unusual shape, an installment the case already has (its
place in the sum's order changes), anything that fails. tests/unit/contact_service/
test_lean_missed.py holds the two paths to each other over generated data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from arrears.events.lean import usual_missed

from contact_service.projections.handlers import missed_installment
from contact_service.projections.store import Row
from contact_service.readmodel import derive


@dataclass(slots=True)
class _Tally:
    installments: dict[str, Any]  # the mapping it was summed over, held by identity
    day: date
    total: Decimal  # not rounded to cents yet
    oldest: date | None


class LeanMissed:
    """A page's lean PaymentMissed reads and its cases' running arrears."""

    def __init__(self) -> None:
        self.tallies: dict[str, _Tally] = {}

    def apply(self, data: Mapping[str, Any], row: Row, day: date, *, own: bool = False) -> bool:
        """`handlers.payment_missed` on `row` for the event's `data` on business `day`, or
        False (and `row` untouched) when the typed handler must run instead. `own`: no
        other row holds `row`'s installments but a copy being dropped (the page fold's row
        changed in place), so a mapping made here may grow in place."""
        installments: Mapping[str, Any] = row["installments"]
        new = _new_installment(data, installments)
        if new is None:
            return False
        key, entry, owing = new
        case_id = row["case_id"]
        tally = self.tallies.get(case_id)
        # The tally holds while the installments are the very mapping it summed (every
        # handler changing them makes a new one) on the same day.
        held = tally is not None and tally.installments is installments
        try:
            if tally is not None and held and tally.day == day:
                total, oldest = tally.total, tally.oldest
            else:
                total, oldest = derive.arrears_tally(installments, day)
            total, oldest = derive.tally_owing(total, oldest, owing, day)
            arrears = total.quantize(derive.CENTS)
        except (ValueError, ArithmeticError):
            return False  # the typed handler names what is wrong
        if own and tally is not None and held:
            # Made here and held by this row alone: one more entry, not a copy of them all
            # (a copy per event made a case's page of missed installments quadratic).
            changed = tally.installments
            tally.day, tally.total, tally.oldest = day, total, oldest
        else:
            changed = dict(installments)
            self.tallies[case_id] = _Tally(changed, day, total, oldest)
        changed[key] = dict(entry)  # its own: the row's installments are never shared
        row["installments"] = changed
        row["arrears"], row["oldest_due_on"] = arrears, oldest
        row["days_past_due"] = derive.days_past_due(oldest, day)
        return True

    def grow(self, data: Mapping[str, Any], row: Row, day: date) -> bool:
        """`apply(data, row, day, own=True)` on a row read by nothing before `settle`: the
        page fold's own row during a case's run of missed installments (ranked after the
        last). The installment, arrears and oldest due date now, without `apply`'s copies
        and calls; the days past due only by `settle`, once a run. False, the row untouched,
        where `apply` would decline."""
        installments = row["installments"]
        tally = self.tallies.get(row["case_id"])
        if tally is None or tally.installments is not installments or tally.day != day:
            return self.apply(data, row, day, own=True)  # made or summed again: all set
        new = _new_installment(data, installments)
        if new is None:
            return False
        key, entry, owing = new
        try:
            total, oldest = derive.tally_owing(tally.total, tally.oldest, owing, day)
            arrears = total.quantize(derive.CENTS)
        except (ValueError, ArithmeticError):
            return False  # the typed handler names what is wrong
        tally.total, tally.oldest = total, oldest
        installments[key] = dict(entry)  # made here and held by this row alone (`apply`)
        row["arrears"], row["oldest_due_on"] = arrears, oldest
        return True

    def settle(self, row: Row) -> None:
        """The days past due `grow` left, from the case's tally (a row whose installments
        the tally did not sum is left as it is)."""
        tally = self.tallies.get(row["case_id"])
        if tally is not None and tally.installments is row["installments"]:
            row["days_past_due"] = derive.days_past_due(tally.oldest, tally.day)


def _new_installment(
    data: Mapping[str, Any], installments: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any], tuple[Decimal, date] | None] | None:
    """The event's installment as a new entry of `installments`: its key, its entry and what
    it owes (`_entry`); None where the typed handler must run instead (not the usual shape,
    an installment reported before, a value it refuses and names)."""
    usual = usual_missed(data)
    if usual is None:
        return None
    amount, due, number = usual
    key = str(number)
    if key in installments:
        return None
    try:
        entry, owing = _entry(due, amount)
    except (ValueError, ArithmeticError):
        return None
    return key, entry, owing


@lru_cache(maxsize=4096)
def _entry(due: str, amount: str) -> tuple[Mapping[str, Any], tuple[Decimal, date] | None]:
    """The installment as `missed_installment` makes it from the typed read's values, and
    what it owes (`derive.owing_of`); cached, as a portfolio's installments fall due on few
    dates for few amounts."""
    entry = missed_installment(date.fromisoformat(due), Decimal(amount))
    return entry, derive.owing_of(entry)
