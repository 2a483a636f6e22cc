"""The state of a collection case, and the pure queries over it.

State is plain JSON-transcodable data (snapshots store the aggregate's __dict__); derived
values (days past due, bucket, risk grade, limitation expiry) are computed as of a day.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arrears.business_date import business_date

from . import delinquency
from .checks import now_utc
from .contactability import LOST
from .errors import CommandForbidden
from .jurisdiction import DEFAULT_JURISDICTION
from .limitation import expires_on
from .money import check_money, quantize
from .points import owner_of
from .policy import DEFAULT_POLICY, CasePolicy
from .risk import RiskAssessment, assess

if TYPE_CHECKING:  # the mixins are combined with Aggregate in CollectionCase
    from eventsourcing.domain import Aggregate as _Base
else:
    _Base = object


class CaseState(_Base):
    """Attributes and queries of CollectionCase (set by the events' apply methods)."""

    loan_id: str
    product: str
    currency: str
    principal: Decimal
    borrower: dict[str, Any]
    guarantors: list[dict[str, Any]]
    collateral: dict[str, Any] | None
    rules: dict[str, Any]
    opened_at: datetime
    status: str
    close_reason: str | None
    closed_at: datetime | None
    installments: dict[str, dict[str, Any]]
    plans_agreed: int
    paid_total: Decimal
    payment_refs: dict[str, Decimal]
    written_off_amount: Decimal | None
    bucket: str
    risk_grade: str | None
    risk_score: int | None
    contactability: str
    contact_tracking: dict[str, Any]
    contact_attempts: int
    reminders_sent: int
    field_visits: int
    promises: list[dict[str, Any]]
    open_promise: str | None
    legal_progress: str
    lawsuits: dict[str, dict[str, Any]]
    pending_docket: str | None
    judgment_in_favour: bool
    judged_docket: str | None
    enforcement_ref: str | None
    agency_id: str | None
    agency_consent_ref: str | None
    complaints: dict[str, dict[str, Any]]
    in_dispute: bool
    guarantor_demands: int
    last_interruption_on: date | None

    @property
    def jurisdiction(self) -> str:
        # Cases snapshotted before jurisdictions existed are CN, as their upcast events say.
        value: str = self.__dict__.get("_jurisdiction", DEFAULT_JURISDICTION)
        return value

    @property
    def contact_points(self) -> list[dict[str, Any]]:
        """Points added after opening (ContactPointAdded); the borrower's phones at opening
        are in `borrower.phones`."""
        value: list[dict[str, Any]] = self.__dict__.get("_contact_points", [])
        return value

    @property
    def candidate_timezones(self) -> list[str]:
        value: list[str] = self.borrower.get("candidate_timezones", [])
        return value

    def owner_of(self, value: str) -> str | None:
        """Whose number or address `value` is, by the case's record; None if unknown."""
        return owner_of(value, self.borrower, self.guarantors, self.contact_points)

    def add_candidate_zone(self, zone: str) -> None:
        if zone != self.borrower["timezone"] and zone not in self.candidate_timezones:
            self.borrower["candidate_timezones"] = [*self.candidate_timezones, zone]

    @property
    def aged_as_of(self) -> date | None:
        """The latest day aging recorded anything for (cases snapshotted before this field
        existed have none until their next aging)."""
        return self.__dict__.get("_aged_as_of")

    @property
    def legal_costs(self) -> list[dict[str, Any]]:
        """Costs recorded by LegalCostIncurred (cases snapshotted before it have none)."""
        value: list[dict[str, Any]] = self.__dict__.get("_legal_costs", [])
        return value

    def add_legal_cost(self, cost: dict[str, Any]) -> None:
        self.__dict__["_legal_costs"] = [*self.legal_costs, cost]

    @property
    def legal_costs_total(self) -> Decimal:
        return quantize(sum((c["amount"] for c in self.legal_costs), Decimal(0)), self.currency)

    def note_aged(self, day: date) -> None:
        if self.aged_as_of is None or day > self.aged_as_of:
            self.__dict__["_aged_as_of"] = day

    # --- helpers used by events and commands ------------------------------------------

    def promise(self, promise_id: str) -> dict[str, Any]:
        for promise in reversed(self.promises):
            if promise["promise_id"] == promise_id:
                found: dict[str, Any] = promise
                return found
        raise KeyError(promise_id)

    def note_interruption(self, day: date) -> None:
        if self.last_interruption_on is None or day > self.last_interruption_on:
            self.last_interruption_on = day

    @property
    def policy(self) -> CasePolicy:
        """The default policy with the rules fixed on this case when it opened."""
        return DEFAULT_POLICY.with_case_rules(self.rules)

    def _command(self, now: datetime) -> datetime:
        """Start a command: check `now` and that the case is open."""
        moment = now_utc(now)
        if self.status != "open":
            raise CommandForbidden("the case is closed", field=None)
        return moment

    def business_day(self, now: datetime) -> date:
        """The bank's business date at `now`: the "today" of every rule (arrears.business_date;
        cases opened before the zone was a case rule use the default, Asia/Shanghai)."""
        return business_date(now, self.policy.business_timezone)

    def _money(self, value: object, field: str, *, allow_zero: bool = False) -> Decimal:
        return check_money(
            value,
            currency=self.currency,
            field=field,
            maximum=self.policy.max_amount,
            allow_zero=allow_zero,
        )

    # --- queries ----------------------------------------------------------------------

    @property
    def outstanding_balance(self) -> Decimal:
        return quantize(self.principal - self.paid_total, self.currency)

    def arrears_on(self, day: date) -> Decimal:
        return quantize(delinquency.arrears_on(self.installments.values(), day), self.currency)

    @property
    def arrears(self) -> Decimal:
        """Arrears as of the case's last recorded event."""
        return self.arrears_on(self.modified_on.date())

    def days_past_due_on(self, day: date) -> int:
        return delinquency.days_past_due_on(self.installments.values(), day)

    def bucket_on(self, day: date, policy: CasePolicy | None = None) -> str:
        return delinquency.bucket_for(self.days_past_due_on(day), policy or self.policy)

    def risk_grade_on(self, day: date, policy: CasePolicy | None = None) -> RiskAssessment:
        return assess(
            days_past_due=self.days_past_due_on(day),
            outstanding_balance=self.outstanding_balance,
            has_collateral=bool(self.collateral),
            has_guarantee=bool(self.guarantors),
            contact_lost=self.contactability == LOST,
            promises_broken=sum(p["status"] == "broken" for p in self.promises),
            promises_kept=sum(p["status"] == "kept" for p in self.promises),
            policy=policy or self.policy,
        )

    @property
    def legal_stage(self) -> str:
        if self.status == "closed":
            return "written_off" if self.close_reason == "written_off" else "closed"
        return self.legal_progress

    @property
    def limitation_expires_on(self) -> date | None:
        """PRC Civil Code arts. 188/195: see limitation.py."""
        open_dates = [i["due_date"] for i in self.installments.values() if delinquency.is_open(i)]
        oldest = min(open_dates) if open_dates else None
        return expires_on(oldest, self.last_interruption_on, int(self.rules["limitation_years"]))

    @property
    def open_promise_record(self) -> dict[str, Any] | None:
        return self.promise(self.open_promise) if self.open_promise else None

    @property
    def open_complaints(self) -> list[str]:
        return [cid for cid, c in self.complaints.items() if c["status"] == "open"]
