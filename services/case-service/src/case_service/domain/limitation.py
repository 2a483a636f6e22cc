"""The limitation period (诉讼时效) under the PRC Civil Code.

Art. 188: three years from when the creditor knew or should have known of the breach:
for an unpaid installment, its due date. Art. 189 lets installment debts run from the
last installment's due date; we run from the OLDEST unpaid one, which is conservative
(never later than the law's date). Art. 195: a demand on the debtor, the debtor's
agreement to perform (acknowledgement, part payment, a promise or a payment plan), or
a lawsuit interrupts the period, and it restarts from the interruption. Art. 201: the
start day is not counted, so a period in years ends on the corresponding date; one
starting on 29 February ends on 28 February in a common year.
"""

from __future__ import annotations

from datetime import date


def add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a common year
        return start.replace(year=start.year + years, day=28)


def expires_on(
    oldest_unpaid_due: date | None, last_interruption: date | None, years: int
) -> date | None:
    """The last day to sue, or None when nothing unpaid has fallen due."""
    if oldest_unpaid_due is None:
        return None
    start = oldest_unpaid_due
    if last_interruption is not None and last_interruption > start:
        start = last_interruption
    return add_years(start, years)
