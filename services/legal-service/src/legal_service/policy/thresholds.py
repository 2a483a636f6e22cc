"""The legal policy's thresholds and assumptions, in one configurable object.

Every number the recommendations use lives here, with where it comes from. Settings
(`LegalServiceSettings`, from the environment) build it; tests build their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class LegalPolicy:
    # PRC Civil Code art. 188: the ordinary limitation period is three years.
    limitation_years: int = 3
    # Alert this many days before the limitation expires with no interruption on record
    # (descending; an alert fires from its day until the next smaller one takes over).
    limitation_alert_days: tuple[int, ...] = (180, 90, 30)
    # Refer to legal only when days past due pass this (90: the loan is non-performing).
    referral_min_days_past_due: int = 90
    # ...and the arrears are at least this (in the case currency's major units).
    referral_min_arrears: Decimal = Decimal("5000")
    # "Effective collection": two attempts with confirmed receipt at least this many days apart.
    effective_collection_gap_days: int = 30
    # Litigation is worth it when expected recovery minus the cost still to come is above this.
    min_net_benefit: Decimal = Decimal("0")
    # case-service writes off only non-performing loans (CasePolicy.write_off_min_days_past_due).
    write_off_min_days_past_due: int = 90
    # Art. 195(2): a promise to pay is the debtor's agreement to perform (an acknowledgement);
    # it is recorded from a recorded call, which is its proof.
    promise_counts_as_acknowledgement: bool = True
    # Contact outcomes that confirm the message reached the borrower (effective collection).
    receipt_outcomes: frozenset[str] = frozenset({"right_party_contact", "delivered"})
    # --- cost-benefit assumptions (documented in docs/legal-service.md) ----------------
    # Share of the outstanding balance expected back through litigation and enforcement.
    recovery_rate_unsecured: Decimal = Decimal("0.30")
    recovery_rate_guaranteed: Decimal = Decimal("0.45")
    recovery_rate_secured: Decimal = Decimal("0.60")
    # Multiplier when the borrower cannot be found, or died (the estate pays, slowly).
    recovery_factor_lost: Decimal = Decimal("0.5")
    # After a judgment in the bank's favour, at least this share is expected.
    recovery_rate_after_judgment: Decimal = Decimal("0.50")
    # Outside counsel: a fixed fee plus a share of the claim, paid when the suit is filed.
    lawyer_fee_fixed: Decimal = Decimal("3000")
    lawyer_fee_rate: Decimal = Decimal("0.03")
    # Court fees follow the State Council's Measures on Litigation Costs (诉讼费用交纳办法,
    # 2006, arts. 13-14), see costs.py; the bank is assumed to bear them (conservative).
    include_preservation_fee: bool = True
    asset_signals: frozenset[str] = field(
        default_factory=lambda: frozenset({"vanished", "deceased", "other_creditors"})
    )


DEFAULT_POLICY = LegalPolicy()
