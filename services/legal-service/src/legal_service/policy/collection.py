"""Evidence of "effective collection": two collection attempts with confirmed receipt at
least `effective_collection_gap_days` (30) apart. Courts and auditors ask for it before a
lawsuit or a write-off (the bank pursued the debt, and the borrower knew)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from legal_service.policy.model import CaseView
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy


@dataclass(frozen=True)
class EffectiveCollection:
    evidenced: bool
    first_receipt_on: date | None
    last_receipt_on: date | None
    gap_days: int | None


def effective_collection(
    view: CaseView, policy: LegalPolicy = DEFAULT_POLICY
) -> EffectiveCollection:
    first, last = view.first_receipt_on, view.last_receipt_on
    if first is None or last is None:
        return EffectiveCollection(False, first, last, None)
    gap = (last - first).days
    return EffectiveCollection(gap >= policy.effective_collection_gap_days, first, last, gap)
