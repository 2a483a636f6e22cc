"""One loan's story, day by day: when it misses, pays, promises, disputes, goes to court.

`planner.plan_day(loan, day)` returns what the loan system, the collectors and the legal officers do
about this loan on that simulated day, as HTTP actions; it reads only the loan's own random
stream and state, never a service's answer, so a seed fixes the whole portfolio.

Installments fall due every 30 days. A missed one is reported the next day in the daily
file. A paying borrower clears all arrears (then the case is closed as cured, and may be
reopened by a later miss) or the oldest installment. The collection ladder is in `ladder`, the day's order of things in `planner`.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from arrears_dev.simulator import borrowers as b

CYCLE = timedelta(days=30)
BUCKETS = ("M0", "M1", "M2", "M3", "M4+")


def bucket_of(dpd: int) -> str:
    if dpd <= 0:
        return "M0"
    if dpd <= 30:
        return "M1"
    if dpd <= 60:
        return "M2"
    if dpd <= 90:
        return "M3"
    return "M4+"


@dataclass(frozen=True)
class Action:
    """One HTTP command: `path` is below /v1/cases/{case_id}/ (or absolute when it starts
    with /). `via` names the service that should take it when it runs (else case-service);
    `now_fields` are body fields the driver sets to the moment it sends the request;
    `extra` are fields only the `via` service takes (case-service refuses unknown fields)."""

    kind: str
    role: str
    path: str
    body: dict[str, Any]
    key: str
    via: str = "case"
    now_fields: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class DayPlan:
    open_body: dict[str, Any] | None = None
    before_batch: list[Action] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)


@dataclass
class Installment:
    number: int
    due: date
    amount: int  # fen
    unpaid: int


@dataclass
class Promise:
    amount: int
    pay_on: date  # the simulated day the borrower pays, or does not
    keep: bool


@dataclass
class Loan:
    index: int
    loan_id: str
    rng: random.Random
    profile: b.Profile
    product: str
    principal: int
    installment: int
    open_body: dict[str, Any]
    first_report: date  # the day the first missed installment is reported
    backlog: int  # installments already missed when the case opens
    offset: int  # days between the last of those due dates and the day before opening
    until: date  # the last simulated day
    now: datetime  # no business time may lie after this (the services' clocks)
    opened: bool = False
    closed: bool = False
    written_off: bool = False
    installments: list[Installment] = field(default_factory=list)
    next_due: date = date.min
    paid: int = 0
    seq: int = 0
    promise: Promise | None = None
    promise_blocked: bool = False  # a broken promise stays open at case-service until its date
    clocked: bool = False  # the services' clock follows the simulated days (a file clock)
    promise_free_on: date | None = None  # on a file clock: the day after a broken promise
    disputed_until: date | None = None
    complaint_due: date | None = None
    complaint_id: str = ""  # the open complaint, resolved on complaint_due
    legal: dict[str, Any] = field(default_factory=dict)
    worst_bucket: str = "M0"
    bucket: str = "M0"  # as of the last planned day
    last_call: str = ""
    stats: dict[str, int] = field(default_factory=dict)

    # --- state ---------------------------------------------------------------------------

    def dpd(self, day: date) -> int:
        unpaid = [i.due for i in self.installments if i.unpaid > 0 and i.due <= day]
        return (day - min(unpaid)).days if unpaid else 0

    def arrears(self) -> int:
        return sum(i.unpaid for i in self.installments)

    @property
    def balance(self) -> int:
        return self.principal - self.paid

    def note(self, what: str, n: int = 1) -> None:
        self.stats[what] = self.stats.get(what, 0) + n

    def key(self, kind: str) -> str:
        self.seq += 1
        return f"sim-{self.loan_id}-{self.seq}-{kind}"

    def at(self, day: date, hour: int, minute: int = 0) -> str:
        """A business time on `day` (UTC; Shanghai is eight hours ahead), never after `now`."""
        moment = min(datetime.combine(day, time(hour, minute), UTC), self.now)
        return moment.isoformat().replace("+00:00", "Z")

    # --- the day -----------------------------------------------------------------------

    def open_on(self, day: date, plan: DayPlan) -> None:
        self.opened = True
        plan.open_body = self.open_body
        due = day - timedelta(days=1 + self.offset) - CYCLE * (self.backlog - 1)
        for _ in range(self.backlog):
            self._miss(due, plan)
            due += CYCLE
        self.next_due = due

    def _miss(self, due: date, plan: DayPlan) -> None:
        number = len(self.installments) + 1
        amount = min(self.installment, self.balance - self.arrears())
        if amount <= 0:
            return
        self.installments.append(Installment(number, due, amount, amount))
        plan.missed.append(
            {
                "loan_id": self.loan_id,
                "installment": number,
                "due_date": due.isoformat(),
                "amount": b.money(amount),
            }
        )

    def installment_due(self, day: date, plan: DayPlan) -> None:
        due, self.next_due = self.next_due, self.next_due + CYCLE
        if self.closed:
            if self.rng.random() >= self.profile.redefault:
                return  # paid on time: nothing to report
            self.closed = False
            self.legal.clear()
            self.note("reopened")
            plan.before_batch.append(
                Action(
                    "reopen",
                    "origination",
                    "reopenings",
                    {"reason": "missed a further installment", "reopened_at": self.at(day, 0, 5)},
                    self.key("reopen"),
                )
            )
        self._miss(due, plan)

    def borrower_pays(self, day: date, plan: DayPlan) -> None:
        promise = self.promise
        if promise is not None and promise.pay_on == day:
            self.promise = None
            if promise.keep:
                self._pay(day, min(promise.amount, self.balance), plan, kept=True)
                self.note("promises_kept")
            else:
                # case-service breaks it at the next night's aging; on the system clock the
                # promised date lies after the real today and it stays open to the end.
                self.promise_blocked = True
                if self.clocked:
                    self.promise_free_on = day + timedelta(days=1)
                self.note("promises_broken")
        bucket = bucket_of(self.dpd(day))
        waiting = self.promise is not None or (self.disputed_until and day <= self.disputed_until)
        chance = 0.0 if waiting or bucket == "M0" else b.DAILY_PAY[bucket]
        if self.arrears() > 0 and chance and self.rng.random() < chance * self.profile.pay_factor:
            full = self.rng.random() < b.FULL_CURE_SHARE
            oldest = next(i for i in self.installments if i.unpaid > 0)
            self._pay(day, self.arrears() if full else oldest.unpaid, plan, kept=False)
        if self.arrears() == 0 and not self.closed:
            self._close(day, plan)

    def _pay(self, day: date, amount: int, plan: DayPlan, *, kept: bool) -> None:
        if amount <= 0:
            return
        self.paid += amount
        rest = amount
        for inst in self.installments:
            part = min(rest, inst.unpaid)
            inst.unpaid -= part
            rest -= part
        self.note("payments")
        key = self.key("pay")
        body = {"amount": b.money(amount), "paid_at": self.at(day, 2, 30), "reference": key}
        # A kept promise counts only payments made after the promise was recorded, which
        # case-service stamps with its own clock: such a payment is sent as made "now".
        plan.actions.append(
            Action(
                "payment",
                "origination",
                "payments",
                body,
                key,
                now_fields=("paid_at",) if kept else (),
            )
        )

    def _close(self, day: date, plan: DayPlan) -> None:
        self.closed = True
        self.promise = None
        self.legal.clear()
        self.note("cures")
        plan.actions.append(
            Action(
                "close",
                "origination",
                "closures",
                {"reason": "cured", "closed_at": self.at(day, 12, 0)},
                self.key("close"),
            )
        )

    def finish(self) -> None:
        """Promises still open at the end: not yet kept or broken (counted as pending)."""
        if self.promise is not None:
            self.note("promises_pending")


def loan_id(prefix: str, seed: int, index: int) -> str:
    """The loan id of the `index`th loan of a seed's portfolio."""
    return f"{prefix}{seed}-{index:06d}"


def new_loan(
    seed: int,
    index: int,
    first_day: date,
    days: int,
    prefix: str,
    now: datetime,
    *,
    clocked: bool = False,
) -> Loan:
    rng = random.Random(f"arrears-simulator:{seed}:{index}")
    loan = loan_id(prefix, seed, index)
    profile = b.draw_profile(rng)
    product, principal, term, collateral = b.draw_product(rng)
    last_day = first_day + timedelta(days=days - 1)
    # A third of the book is already in arrears when the simulation starts; the rest
    # defaults on a day spread over the first 85% of the window.
    offset = 0
    if rng.random() < 0.35:
        backlog = b.pick(rng, ((1, 0.5), (2, 0.25), (3, 0.12), (4, 0.08), (6, 0.05)))
        offset = rng.randrange(25)
        first_report = first_day
    else:
        backlog = 1
        first_report = first_day + timedelta(days=rng.randrange(max(1, int(days * 0.85))))
    body: dict[str, Any] = {
        "loan_id": loan,
        "product": product,
        "currency": "CNY",
        "principal": b.money(principal),
        "borrower": b.borrower(rng, loan),
    }
    if collateral is not None:
        body["collateral"] = {
            "kind": collateral,
            "description": "the financed vehicle" if collateral == "vehicle" else "the home",
            "appraised_value": b.money(principal * 5 // 4),
            "lien_rank": 1,
        }
    if product in ("auto_loan", "mortgage") and rng.random() < 0.3:
        body["guarantors"] = [
            {"id": f"G-{loan}", "name": b.person(rng), "phones": [{"number": b.phone(rng)}]}
        ]
    installment = max(100, principal // term // 100 * 100)
    return Loan(
        index=index,
        loan_id=loan,
        rng=rng,
        profile=profile,
        product=product,
        principal=principal,
        installment=installment,
        open_body=body,
        first_report=first_report,
        backlog=backlog,
        offset=offset,
        until=last_day,
        now=now,
        clocked=clocked,
    )


@dataclass
class Portfolio:
    loans: list[Loan]
    first_day: date
    days: int

    @classmethod
    def generate(
        cls,
        loans: int,
        days: int,
        seed: int,
        now: datetime,
        prefix: str = "SIM",
        *,
        clocked: bool = False,
    ) -> Portfolio:
        """`loans` loans over `days` simulated days ending on `now`'s date."""
        first_day = now.date() - timedelta(days=days - 1)
        made = [
            new_loan(seed, i, first_day, days, prefix, now, clocked=clocked) for i in range(loans)
        ]
        return cls(made, first_day, days)

    def day(self, n: int) -> date:
        return self.first_day + timedelta(days=n)

    def buckets(self, day: date) -> dict[str, int]:
        counts = {name: 0 for name in (*BUCKETS[1:], "cured", "written_off", "not_delinquent")}
        for loan in self.loans:
            if not loan.opened:
                counts["not_delinquent"] += 1
            elif loan.written_off:
                counts["written_off"] += 1
            elif loan.closed:
                counts["cured"] += 1
            else:
                bucket = bucket_of(loan.dpd(day))
                counts["M1" if bucket == "M0" else bucket] += 1
        return counts

    def stats(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for loan in self.loans:
            for what, n in loan.stats.items():
                total[what] = total.get(what, 0) + n
        return dict(sorted(total.items()))

    def roll_rates(self) -> dict[str, float]:
        """Of the stays in each bucket, the share that rolled on to the next (M1->M2, ...)."""
        stats = self.stats()
        rates = {}
        for here, there in itertools.pairwise(BUCKETS[1:]):
            entered = stats.get(f"in_{here}", 0)
            if entered:
                rates[f"{here}->{there}"] = round(stats.get(f"roll_{here}", 0) / entered, 3)
        return rates

    def worst_buckets(self) -> dict[str, int]:
        counts = {name: 0 for name in BUCKETS[1:]}
        for loan in self.loans:
            if loan.opened:
                counts[loan.worst_bucket if loan.worst_bucket != "M0" else "M1"] += 1
        return counts
