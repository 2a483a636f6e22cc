"""The configurable rules of collection: buckets, risk scorecard, promises, limitation."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from arrears.business_date import BUCKET_BOUNDS, DEFAULT_BUSINESS_TIMEZONE, LAST_BUCKET

from .jurisdiction import BY_COUNTRY, BY_CURRENCY, DEFAULT_JURISDICTION, derive_jurisdiction

# Settings that govern commands are copied onto the case when it opens (they are part of
# its record: the rules it was collected under). The rest are read at query time.
CASE_RULES = (
    "promise_horizon_days",
    "limitation_years",
    "write_off_min_days_past_due",
    "max_claim_multiple",
    "lost_contact_caller_lines",
    "business_timezone",
)


@dataclass(frozen=True)
class CasePolicy:
    """Rules of collection; one default, overridable per product or jurisdiction."""

    # Promises to pay: the promised date must fall within this many days.
    promise_horizon_days: int = 30
    # PRC Civil Code art. 188: the ordinary limitation period is three years.
    limitation_years: int = 3
    # Write-off (核销) only of a non-performing loan: at least this many days past due.
    write_off_min_days_past_due: int = 90
    # A lawsuit's claim may add interest, penalties and costs, but not beyond this
    # multiple of the principal (above that the amount is a typo).
    max_claim_multiple: Decimal = Decimal("2")
    # Above this any amount is a typo, not a loan.
    max_amount: Decimal = Decimal("1000000000000")
    # Bucket upper bounds in days past due: M0 = 0, M1 <= 30, M2 <= 60, M3 <= 90, else M4+.
    # The zone of the bank's business calendar: "today" of every rule (BUSINESS_TIMEZONE).
    business_timezone: str = DEFAULT_BUSINESS_TIMEZONE
    bucket_bounds: tuple[tuple[str, int], ...] = BUCKET_BOUNDS  # shared: every service's
    last_bucket: str = LAST_BUCKET
    # Lost contact (失联), the 3:3:3 rule: numbers, times of day, call attempts, and SMS.
    lost_contact_numbers: int = 3
    lost_contact_times_of_day: int = 3
    lost_contact_call_attempts: int = 3
    lost_contact_sms: int = 1
    # The periods of the borrower's local day the 3:3:3 rule counts (name, first hour): the
    # same periods as contact-service's profiles (`lost_contact.periods`).
    lost_contact_periods: tuple[tuple[str, int], ...] = (
        ("morning", 0),
        ("afternoon", 12),
        ("evening", 18),
    )
    # Jurisdictions whose bank reading of 3:3:3 counts its own outbound lines (the attempt's
    # `caller_line`) instead of the borrower's numbers (contact-service's `lost_contact.counts`).
    lost_contact_caller_lines: tuple[str, ...] = ()
    # The jurisdiction of a case that names none (domain/jurisdiction.py: the rule).
    default_jurisdiction: str = DEFAULT_JURISDICTION
    jurisdiction_by_product: tuple[tuple[str, str], ...] = ()
    jurisdiction_by_country: tuple[tuple[str, str], ...] = BY_COUNTRY
    jurisdiction_by_currency: tuple[tuple[str, str], ...] = BY_CURRENCY
    # Risk scorecard: points by days past due (lower bound inclusive, highest first).
    risk_dpd_points: tuple[tuple[int, int], ...] = (
        (361, 80),
        (181, 60),
        (91, 45),
        (61, 30),
        (31, 20),
        (1, 10),
    )
    # Points by outstanding balance (in the case currency's major units, highest first).
    risk_amount_points: tuple[tuple[Decimal, int], ...] = (
        (Decimal("1000000"), 10),
        (Decimal("100000"), 5),
    )
    risk_collateral_points: int = -15
    risk_guarantee_points: int = -10
    risk_lost_contact_points: int = 15
    risk_broken_promise_points: int = 10
    risk_broken_promise_cap: int = 20
    risk_kept_promise_points: int = -5
    risk_kept_promise_cap: int = -10
    # Grade thresholds: the lowest score of each grade above "low" (ascending).
    risk_grade_thresholds: tuple[tuple[str, int], ...] = field(
        default=(("medium", 20), ("high", 40), ("doubtful_loss", 60))
    )

    def case_rules(self) -> dict[str, Any]:
        """The settings copied onto a case when it opens (JSON-ready primitives)."""
        rules = {name: getattr(self, name) for name in CASE_RULES}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in rules.items()}

    def jurisdiction_for(self, *, product: str, currency: str, country: str | None) -> str:
        return derive_jurisdiction(
            product=product,
            currency=currency,
            country=country,
            by_product=dict(self.jurisdiction_by_product),
            by_country=dict(self.jurisdiction_by_country),
            by_currency=dict(self.jurisdiction_by_currency),
            default=self.default_jurisdiction,
        )

    def with_case_rules(self, rules: dict[str, Any]) -> CasePolicy:
        # Every command asks for its case's policy several times; cases share a handful of
        # rule sets, so each policy keeps the few it derived (policies are immutable), found
        # by the rules' identity first (a case's rules are fixed when it opens; the memo holds
        # the dict, so its id is not reused meanwhile), else by their content.
        memo = self.__dict__.get("_memo")
        if memo is None:
            memo = self.__dict__["_memo"] = _Derived()
        hit = memo.by_identity.get(id(rules))
        if hit is not None and hit[0] is rules:
            return hit[1]
        # By content: among the last few rule sets of the same names, compared as dicts (in
        # C: the rules' items as a key, hashed, cost a Python loop and a Decimal's hash per
        # case read afresh, as the daily file reads nearly every case); else by their items.
        names = tuple(rules)
        recent = memo.by_names.get(names)
        if recent is None:
            if len(memo.by_names) >= 256:
                memo.by_names.clear()
            recent = memo.by_names[names] = []
        found = None
        for held, policy in recent:
            if held == rules:
                found = policy
                break
        if found is None:
            found = self._derived(memo, rules)
            recent.insert(0, (dict(rules), found))
            del recent[_RECENT:]
        if len(memo.by_identity) >= 65_536:
            memo.by_identity.clear()
        memo.by_identity[id(rules)] = (rules, found)
        return found

    def _derived(self, memo: _Derived, rules: dict[str, Any]) -> CasePolicy:
        """The policy with these rules, one per distinct rule set (by their items)."""
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in rules.items())
        found = memo.by_items.get(key)
        if found is None:
            known = {f.name for f in fields(self)}
            found = replace(self, **{k: v for k, v in rules.items() if k in known})
            if len(memo.by_items) >= 256:
                memo.by_items.clear()
            memo.by_items[key] = found
        return found


@dataclass
class _Derived:
    """A policy's memo of the policies it derived (`with_case_rules`)."""

    by_identity: dict[int, tuple[dict[str, Any], CasePolicy]] = field(default_factory=dict)
    # The rule sets last derived, by the rules' names (a few: each is compared in turn).
    by_names: dict[tuple[str, ...], list[tuple[dict[str, Any], CasePolicy]]] = field(
        default_factory=dict
    )
    by_items: dict[tuple[Any, ...], CasePolicy] = field(default_factory=dict)


_RECENT = 8  # rule sets of the same names compared before their items are hashed

DEFAULT_POLICY = CasePolicy()
