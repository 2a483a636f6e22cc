"""One simulated loan's day, in order: the loan system's reports, the borrower's payments, then
the collection ladder. It sits above `model` (the loan) and `ladder` (the department), so
neither of those needs the other's caller."""

from __future__ import annotations

from datetime import date, timedelta

from arrears_dev.simulator import ladder
from arrears_dev.simulator.model import BUCKETS, DayPlan, Loan, bucket_of


def plan_day(loan: Loan, day: date, today: date) -> DayPlan:
    """What happens to `loan` on `day` (`today` is the borrower's real today: nothing later)."""
    plan = DayPlan()
    if loan.promise_free_on is not None and day >= loan.promise_free_on:
        loan.promise_blocked, loan.promise_free_on = False, None
    if loan.written_off or day < loan.first_report:
        return plan
    if not loan.opened:
        loan.open_on(day, plan)
    elif day - timedelta(days=1) >= loan.next_due:
        loan.installment_due(day, plan)
    if loan.closed:
        return plan
    loan.borrower_pays(day, plan)
    if not loan.closed:
        ladder.collect(loan, day, today, plan)
    _track_bucket(loan, bucket_of(loan.dpd(day)))
    return plan


def _track_bucket(loan: Loan, bucket: str) -> None:
    if BUCKETS.index(bucket) > BUCKETS.index(loan.worst_bucket):
        loan.worst_bucket = bucket
    if bucket != loan.bucket:
        if bucket != "M0":
            loan.note(f"in_{bucket}")  # entered this bucket (once per stay)
        if loan.bucket != "M0" and BUCKETS.index(bucket) == BUCKETS.index(loan.bucket) + 1:
            loan.note(f"roll_{loan.bucket}")  # rolled on to the next bucket
        loan.bucket = bucket
