"""How long a closed case keeps its personal data, legal holds, and erasure.

Retention runs per case from its closure (the business date the case closed): a number of
whole years per jurisdiction, after which the case's personal data is erased by destroying
its subjects' keys (case_service.pii). A legal hold (litigation, a regulator's or court's
order) blocks erasure until released. The facts stay: `PersonalDataErased` records when,
under which rule, and the history keeps every event and its proof.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import checks
from .errors import CommandForbidden
from .events import CaseEvent
from .state import CaseState

# Years after closure; configurable per deployment (RETENTION_YEARS in the settings).
DEFAULT_RETENTION_YEARS: dict[str, int] = {"CN": 5, "UK-CONC": 6, "US-RegF": 7}
ERASED = "[erased]"


class LegalHoldPlaced(CaseEvent):
    hold_id: str
    basis: str  # the matter or order that requires keeping the record (no personal data)
    placed_by: str | None

    def apply(self, aggregate: CaseState) -> None:
        holds = dict(aggregate.__dict__.get("_legal_holds", {}))
        holds[self.hold_id] = {"basis": self.basis, "placed_at": self.timestamp}
        aggregate.__dict__["_legal_holds"] = holds


class LegalHoldReleased(CaseEvent):
    hold_id: str
    reason: str
    released_by: str | None

    def apply(self, aggregate: CaseState) -> None:
        holds = dict(aggregate.__dict__.get("_legal_holds", {}))
        holds.pop(self.hold_id, None)
        aggregate.__dict__["_legal_holds"] = holds


class PersonalDataErased(CaseEvent):
    """The case's subjects' keys were destroyed: its personal fields read as erased."""

    as_of: date  # the business date the retention rule was applied for
    closed_on: date
    retention_years: int
    jurisdiction_rule: str

    def apply(self, aggregate: CaseState) -> None:
        aggregate.__dict__["_erased_on"] = self.as_of
        scrub(aggregate.__dict__)


def scrub(state: dict[str, Any]) -> None:
    """Replace every personal value in the case's state by ERASED (in place)."""
    borrower = state.get("borrower") or {}
    for person in [borrower, *(state.get("guarantors") or [])]:
        if isinstance(person, dict):
            for name in ("name", "address"):
                if person.get(name) is not None:
                    person[name] = ERASED
            for phone in person.get("phones") or []:
                phone["number"] = ERASED
    collateral = state.get("collateral")
    if isinstance(collateral, dict) and collateral.get("description") is not None:
        collateral["description"] = ERASED
    for point in state.get("_contact_points") or []:
        point["contact_point"] = ERASED
    tracking = state.get("contact_tracking") or {}
    tracking["numbers"] = [ERASED for _ in tracking.get("numbers", [])]
    tracking["cells"] = [[ERASED, cell[1]] for cell in tracking.get("cells", [])]


def erasable_on(closed_on: date, years: int) -> date:
    """The first day the data may be erased: the closure's anniversary `years` later."""
    try:
        return closed_on.replace(year=closed_on.year + years)
    except ValueError:  # 29 February
        return closed_on.replace(year=closed_on.year + years, day=28)


class RetentionCommands(CaseState):
    @property
    def legal_holds(self) -> dict[str, dict[str, Any]]:
        value: dict[str, dict[str, Any]] = self.__dict__.get("_legal_holds", {})
        return value

    @property
    def erased_on(self) -> date | None:
        return self.__dict__.get("_erased_on")

    def place_legal_hold(
        self, *, hold_id: str, basis: str, placed_by: str | None = None, now: datetime
    ) -> None:
        now = checks.now_utc(now)
        hold_id = checks.text(hold_id, "hold_id", max_length=100)
        basis = checks.text(basis, "basis", max_length=checks.MAX_NOTE)
        if self.erased_on is not None:
            raise CommandForbidden("the case's personal data was already erased", field=None)
        if hold_id in self.legal_holds:
            return  # the same hold again: nothing new
        self.trigger_event(
            LegalHoldPlaced, timestamp=now, hold_id=hold_id, basis=basis, placed_by=placed_by
        )

    def release_legal_hold(
        self, *, hold_id: str, reason: str, released_by: str | None = None, now: datetime
    ) -> None:
        now = checks.now_utc(now)
        reason = checks.text(reason, "reason", max_length=checks.MAX_NOTE)
        if hold_id not in self.legal_holds:
            raise CommandForbidden(f"no legal hold {hold_id} stands on this case", field="hold_id")
        self.trigger_event(
            LegalHoldReleased,
            timestamp=now,
            hold_id=hold_id,
            reason=reason,
            released_by=released_by,
        )

    def retention_ended(self, as_of: date, years_by_jurisdiction: dict[str, int]) -> bool:
        """Closed, not yet erased, and its jurisdiction's years after closure are over."""
        if self.status != "closed" or self.closed_at is None or self.erased_on is not None:
            return False
        years = years_by_jurisdiction.get(self.jurisdiction)
        return years is not None and erasable_on(self.closed_at.date(), years) <= as_of

    def erasure_due(self, as_of: date, years_by_jurisdiction: dict[str, int]) -> bool:
        """Retention over by `as_of` and no legal hold stands."""
        return not self.legal_holds and self.retention_ended(as_of, years_by_jurisdiction)

    def erase_personal_data(
        self, *, as_of: date, years_by_jurisdiction: dict[str, int], now: datetime
    ) -> None:
        now = checks.now_utc(now)
        if self.erased_on is not None:
            return
        if self.legal_holds:
            raise CommandForbidden("a legal hold stands: erasure is refused", field=None)
        if not self.erasure_due(as_of, years_by_jurisdiction):
            raise CommandForbidden("the case's retention period has not ended", field="as_of")
        assert self.closed_at is not None
        years = years_by_jurisdiction[self.jurisdiction]
        self.trigger_event(
            PersonalDataErased,
            timestamp=now,
            as_of=as_of,
            closed_on=self.closed_at.date(),
            retention_years=years,
            jurisdiction_rule=f"{self.jurisdiction}: {years} years after closure",
        )
