"""The limitation clock (诉讼时效), PRC Civil Code arts. 188, 195, 201 and 202.

- Art. 188: three years (LegalPolicy.limitation_years) from when the creditor knew or should
  have known of the breach. For an unpaid installment that is its due date; art. 189 lets an
  installment debt run from the last installment, we run from the OLDEST unpaid one, which is
  never later than the law's date (conservative), and matches case-service.
- Art. 195: the period is interrupted, and restarts from the interruption, by (1) the
  creditor's demand on the debtor, (2) the debtor's agreement to perform (acknowledgement,
  part payment, a promise or a payment plan), (3) a lawsuit or arbitration.
- SPC Provisions on Limitation in Civil Cases (法释〔2008〕11号, amended 2020), art. 8: a
  demand counts when it REACHES the debtor - a document signed for, or a letter or data
  message (SMS, e-mail) to the contact details the debtor gave that arrives; a financial
  institution's deduction from the debtor's account also counts. Hence an interruption
  counts here only with proof of delivery (or its own record: a payment reference, a docket
  number) on record.
- Arts. 201-202: the start day is not counted and a period in years ends on the
  corresponding day of the last year; without one (29 February) on the last day of that
  month (28 February).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from legal_service.policy.model import CaseView, Interruption
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy


def add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a common year: the month's last day
        return start.replace(year=start.year + years, day=28)


def counts(interruption: Interruption, policy: LegalPolicy = DEFAULT_POLICY) -> bool:
    """Does this interruption restart the clock? Only with proof of delivery on record."""
    if interruption.proof is None or not interruption.proof.strip():
        return False
    return not (interruption.promise and not policy.promise_counts_as_acknowledgement)


@dataclass(frozen=True)
class LimitationClock:
    started_on: date | None  # the oldest unpaid installment's due date
    last_interruption: Interruption | None  # the latest one that counts, after the start
    runs_from: date | None  # the later of the two
    expires_on: date | None  # the last day to sue; None when nothing unpaid is due

    def days_left(self, today: date) -> int | None:
        return None if self.expires_on is None else (self.expires_on - today).days


def clock(view: CaseView, policy: LegalPolicy = DEFAULT_POLICY) -> LimitationClock:
    return clock_from(view.oldest_due_on, view.interruptions, policy)


def clock_from(
    start: date | None,
    interruptions: Iterable[Interruption],
    policy: LegalPolicy = DEFAULT_POLICY,
) -> LimitationClock:
    """`clock` of a case whose oldest unpaid installment fell due on `start`."""
    if start is None:
        return LimitationClock(None, None, None, None)
    counting = [i for i in interruptions if counts(i, policy) and i.on > start]
    last = max(counting, key=lambda i: i.on, default=None)
    runs_from = last.on if last else start
    return LimitationClock(start, last, runs_from, add_years(runs_from, policy.limitation_years))


@dataclass(frozen=True)
class LimitationAlert:
    threshold: int  # the alert band: 180, 90 or 30 (days before expiry)
    days_left: int
    expires_on: date


def alert(
    view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY
) -> LimitationAlert | None:
    """The alert band the case is in: from `threshold` days before expiry down to the next
    band; none after expiry (the claim is lost: see `expired`) or once a lawsuit is filed
    (proceedings interrupt the period until they end)."""
    if view.status != "open" or view.stage not in {"none", "demand_served", "referred_to_legal"}:
        return None
    limit = clock(view, policy)
    days = limit.days_left(today)
    if days is None or limit.expires_on is None or days < 0:
        return None
    bands = [t for t in sorted(policy.limitation_alert_days) if days <= t]
    if not bands:
        return None
    return LimitationAlert(bands[0], days, limit.expires_on)


def expired(view: CaseView, today: date, policy: LegalPolicy = DEFAULT_POLICY) -> bool:
    days = clock(view, policy).days_left(today)
    return (
        days is not None
        and days < 0
        and view.stage
        not in {
            "lawsuit_filed",
            "asset_preservation_granted",
            "judgment",
            "enforcement",
        }
    )
