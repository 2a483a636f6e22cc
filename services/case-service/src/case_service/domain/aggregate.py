"""CollectionCase: one per delinquent loan, its id derived from the loan id."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import date, datetime
from typing import Any

from eventsourcing.domain import Aggregate

from . import checks
from .catalogue import to_json
from .contact import ContactCommands
from .errors import CommandForbidden, InvalidCommand
from .events import (
    CaseClosed,
    CaseOpened,
    CaseReopened,
    DelinquencyBucketChanged,
    RiskGraded,
    WrittenOff,
)
from .jurisdiction import JURISDICTIONS
from .legal import LegalCommands
from .money import check_currency, check_money
from .payments import PaymentCommands
from .policy import DEFAULT_POLICY, CasePolicy
from .reach import ReachCommands
from .retention import RetentionCommands
from .view import case_view

# Fixed for the project: case ids are uuid5(CASE_NAMESPACE, loan_id), forever.
CASE_NAMESPACE = uuid.UUID("6f0b2c1e-8a54-5d7e-9c1a-3e2f4b5a6c7d")
PHONE_KINDS = ("mobile", "home", "work")
PHONE_OWNERS = ("borrower", "spouse", "co_borrower", "guarantor", "employer", "emergency_contact")
CLOSE_REASONS = ("cured", "paid_in_full", "settled", "written_off")


def _phones(value: object, field: str, default_owner: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 20:
        raise InvalidCommand("must be a list of at most 20 phones", field=field)
    phones = []
    for n, phone in enumerate(value):
        at = f"{field}.{n}"
        if not isinstance(phone, dict):
            raise InvalidCommand("must be an object", field=at)
        phones.append(
            {
                "number": checks.text(phone.get("number"), f"{at}.number", max_length=30),
                "kind": checks.choice(phone.get("kind", "mobile"), PHONE_KINDS, f"{at}.kind"),
                "owner": checks.choice(
                    phone.get("owner", default_owner), PHONE_OWNERS, f"{at}.owner"
                ),
            }
        )
    return phones


def _borrower(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidCommand("must be an object", field="borrower")
    address = value.get("address")
    return {
        "id": checks.text(value.get("id"), "borrower.id", max_length=100),
        "name": checks.text(value.get("name"), "borrower.name"),
        "timezone": checks.timezone(value.get("timezone"), "borrower.timezone"),
        "address": checks.optional_text(address, "borrower.address", max_length=checks.MAX_NOTE),
        "phones": _phones(value.get("phones"), "borrower.phones", "borrower"),
        **_whereabouts(value),
    }


def _whereabouts(value: dict[str, Any]) -> dict[str, Any]:
    """The borrower's candidate time zones and (optional) country of residence."""
    zones = value.get("candidate_timezones") or []
    if not isinstance(zones, list) or len(zones) > 10:
        raise InvalidCommand(
            "must be a list of at most 10 zones", field="borrower.candidate_timezones"
        )
    primary = value.get("timezone")
    candidates: list[str] = []
    for n, zone in enumerate(zones):
        name = checks.timezone(zone, f"borrower.candidate_timezones.{n}")
        if name != primary and name not in candidates:
            candidates.append(name)
    found: dict[str, Any] = {"candidate_timezones": candidates}
    country = value.get("country")
    if country is not None:
        if not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2}", country):
            raise InvalidCommand(
                "must be an ISO 3166-1 alpha-2 code such as CN", field="borrower.country"
            )
        found["country"] = country
    return found


def _guarantors(value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 20:
        raise InvalidCommand("must be a list of at most 20 guarantors", field="guarantors")
    result: list[dict[str, Any]] = []
    for n, g in enumerate(value):
        if not isinstance(g, dict):
            raise InvalidCommand("must be an object", field=f"guarantors.{n}")
        gid = checks.text(g.get("id"), f"guarantors.{n}.id", max_length=100)
        if any(other["id"] == gid for other in result):
            raise InvalidCommand("guarantor ids must be unique", field=f"guarantors.{n}.id")
        result.append(
            {
                "id": gid,
                "name": checks.text(g.get("name"), f"guarantors.{n}.name"),
                "phones": _phones(g.get("phones"), f"guarantors.{n}.phones", "guarantor"),
            }
        )
    return result


def _opening_facts(
    product: object,
    currency: object,
    principal: Any,
    borrower: object,
    guarantors: object,
    collateral: object,
    policy: CasePolicy,
) -> dict[str, Any]:
    """What the loan system reports when it opens a case, checked and normalised: the facts
    of CaseOpened, and what a request to open the same loan again is compared with."""
    currency = check_currency(currency)
    if collateral is not None and not isinstance(collateral, dict):
        raise InvalidCommand("must be an object or null", field="collateral")
    return {
        "product": checks.text(product, "product", max_length=100),
        "currency": currency,
        "principal": check_money(
            principal, currency=currency, field="principal", maximum=policy.max_amount
        ),
        "borrower": _borrower(borrower),
        "guarantors": _guarantors(guarantors),
        "collateral": checks.json_value(collateral, "collateral") if collateral else None,
    }


def _without_added_zones(have: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    sent = wanted.get("candidate_timezones", [])
    kept = [z for z in have.get("candidate_timezones", []) if z in sent]
    return {**have, "candidate_timezones": kept} if "candidate_timezones" in have else have


@functools.lru_cache(maxsize=65_536)  # the daily file names each loan many times
def _case_id_for_loan(loan_id: str) -> uuid.UUID:
    return uuid.uuid5(CASE_NAMESPACE, loan_id)


class CollectionCase(
    PaymentCommands, ContactCommands, LegalCommands, ReachCommands, RetentionCommands, Aggregate
):
    """The collection case of one delinquent loan; its events are the legal record."""

    @staticmethod
    def id_for_loan(loan_id: str) -> uuid.UUID:
        return _case_id_for_loan(loan_id)

    @classmethod
    def open(
        cls,
        *,
        loan_id: str,
        product: str,
        currency: str,
        principal: Any,
        borrower: dict[str, Any],
        guarantors: list[dict[str, Any]],
        collateral: dict[str, Any] | None,
        now: datetime,
        policy: CasePolicy = DEFAULT_POLICY,
        jurisdiction: str | None = None,
    ) -> CollectionCase:
        now = checks.now_utc(now)
        loan_id = checks.text(loan_id, "loan_id", max_length=100)
        facts = _opening_facts(
            product, currency, principal, borrower, guarantors, collateral, policy
        )
        if jurisdiction is None:
            jurisdiction = policy.jurisdiction_for(
                product=facts["product"],
                currency=facts["currency"],
                country=facts["borrower"].get("country"),
            )
        jurisdiction = checks.choice(jurisdiction, JURISDICTIONS, "jurisdiction")
        case: CollectionCase = cls._create(
            CaseOpened,
            id=cls.id_for_loan(loan_id),
            timestamp=now,
            loan_id=loan_id,
            **facts,
            rules=policy.case_rules(),
            jurisdiction=jurisdiction,
        )
        return case

    def differences_from_opening(
        self,
        *,
        product: str,
        currency: str,
        principal: Any,
        borrower: dict[str, Any],
        guarantors: list[dict[str, Any]],
        collateral: dict[str, Any] | None,
        policy: CasePolicy = DEFAULT_POLICY,
        **_other: Any,
    ) -> list[str]:
        """The fields of a request to open this loan's case again that differ from the case
        (the same request is an idempotent repeat; a different one must not be dropped)."""
        wanted = _opening_facts(
            product, currency, principal, borrower, guarantors, collateral, policy
        )
        have = {name: getattr(self, name) for name in wanted}
        # Zones added since (TimezoneCandidateAdded) are the case's later facts, not a change
        # in what the loan system reports.
        have["borrower"] = _without_added_zones(have["borrower"], wanted["borrower"])
        return [name for name, value in wanted.items() if have[name] != value]

    # --- the daily aging step ------------------------------------------------------------

    def age(self, *, today: date, now: datetime, policy: CasePolicy | None = None) -> None:
        """Break lapsed promises, record bucket moves and risk grade changes as of today."""
        now = checks.now_utc(now)
        today = checks.day(today, "today")
        if self.status != "open":
            return
        if self.aged_as_of is not None and today < self.aged_as_of:
            return  # aging runs forward: an earlier day, run late or again, changes nothing
        policy = (policy or DEFAULT_POLICY).with_case_rules(self.rules)
        lapsed = self._lapsed_promise(today)
        if lapsed is not None:
            self._break_promise(lapsed, today, now)
        bucket = self.bucket_on(today, policy)
        if bucket != self.bucket:
            self.trigger_event(
                DelinquencyBucketChanged,
                timestamp=now,
                from_bucket=self.bucket,
                to_bucket=bucket,
                days_past_due=self.days_past_due_on(today),
                as_of=today,
            )
        risk = self.risk_grade_on(today, policy)
        if risk.grade != self.risk_grade:
            self.trigger_event(
                RiskGraded,
                timestamp=now,
                grade=risk.grade,
                score=risk.score,
                factors=dict(risk.factors),
                as_of=today,
            )

    # --- the end of a case -----------------------------------------------------------------

    def write_off(
        self, *, reason: str, approved_by: str, written_off_at: datetime, now: datetime
    ) -> None:
        """核销: an approved write-off of a non-performing balance; closes the case."""
        now = self._command(now)
        reason = checks.text(reason, "reason")
        approved_by = checks.text(approved_by, "approved_by")
        written_off_at = checks.instant(written_off_at, "written_off_at", now=now)
        balance = self.outstanding_balance
        if balance == 0:
            raise CommandForbidden("nothing is outstanding to write off", field=None)
        dpd = self.days_past_due_on(self.business_day(now))
        minimum = int(self.rules["write_off_min_days_past_due"])
        if dpd < minimum:
            raise CommandForbidden(
                f"only a loan at least {minimum} days past due may be written off", field=None
            )
        self.trigger_event(
            WrittenOff,
            timestamp=now,
            reason=reason,
            approved_by=approved_by,
            written_off_at=written_off_at,
            amount=balance,
            currency=self.currency,
            days_past_due=dpd,
        )
        self.trigger_event(
            CaseClosed, timestamp=now, reason="written_off", closed_at=written_off_at
        )

    def close(self, *, reason: str, closed_at: datetime, now: datetime) -> None:
        now = self._command(now)
        reason = checks.choice(reason, CLOSE_REASONS, "reason")
        closed_at = checks.instant(closed_at, "closed_at", now=now)
        if reason == "written_off":
            raise CommandForbidden("a case is written off only by a write-off", field="reason")
        if reason == "cured" and self.arrears_on(self.business_day(now)) != 0:
            raise CommandForbidden("a case with arrears is not cured", field="reason")
        if reason == "paid_in_full" and self.outstanding_balance != 0:
            raise CommandForbidden("the loan is not paid in full", field="reason")
        self.trigger_event(CaseClosed, timestamp=now, reason=reason, closed_at=closed_at)

    def reopen(self, *, reason: str, reopened_at: datetime, now: datetime) -> None:
        now = checks.now_utc(now)
        reason = checks.text(reason, "reason")
        reopened_at = checks.instant(reopened_at, "reopened_at", now=now)
        if self.status != "closed":
            raise CommandForbidden("only a closed case can be reopened", field=None)
        if self.__dict__.get("_erased_on") is not None:
            raise CommandForbidden("the case's personal data was erased", field=None)
        self.trigger_event(CaseReopened, timestamp=now, reason=reason, reopened_at=reopened_at)

    def view(self, as_of: date) -> dict[str, Any]:
        """A JSON-ready picture of the case as of a day (for the HTTP API)."""
        view = case_view(self, as_of)
        borrower = view.get("borrower")
        if isinstance(borrower, dict):  # snapshots older than candidate zones lack the key
            borrower["candidate_timezones"] = list(self.candidate_timezones)
        view["jurisdiction"] = self.jurisdiction
        view["candidate_timezones"] = list(self.candidate_timezones)
        view["contact_points"] = to_json(self.contact_points)
        view["legal_holds"] = to_json(self.legal_holds)
        view["personal_data_erased_on"] = to_json(self.erased_on)
        return view
