"""Collection strategies: declarative, versioned YAML ladders per product and bucket.

A strategy file names its `name`, `version`, `product` and, per bucket, the steps of the
escalation ladder (DESIGN §2). A step is an action (SendReminder, ScheduleCall,
DispatchFieldVisit, SkipTrace) on a channel to a party, due `day` days after the case
entered the bucket, optionally repeated every `repeat_every` days, when its conditions hold.
`assignments.yaml` puts a stable share of each product's cases on a challenger strategy by
a hash of the case id; every decision records the strategy's name, version and arm.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ACTIONS = ("SendReminder", "ScheduleCall", "DispatchFieldVisit", "SkipTrace")
ACTION_CHANNELS = {
    "SendReminder": ("sms", "email", "app_push", "letter"),
    "ScheduleCall": ("call",),
    "DispatchFieldVisit": ("visit",),
    "SkipTrace": ("none",),
}
CONDITIONS = (
    "no_open_promise",
    "open_promise",
    "not_reached_for_days",
    "contact_lost",
    "reachable",
    "promise_broken",
    "risk_grade_in",
    "min_arrears",
    "has_party",
)
DEFAULT_DIR = Path(__file__).parent / "strategies"


class StrategyError(ValueError):
    """A strategy file that does not describe a valid strategy."""


@dataclass(frozen=True)
class Condition:
    name: str
    arg: Any = None


@dataclass(frozen=True)
class Step:
    id: str
    action: str
    channel: str
    party: str
    day: int
    repeat_every: int | None = None
    template: str | None = None
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Strategy:
    name: str
    version: int
    product: str
    buckets: Mapping[str, tuple[Step, ...]]
    max_late_days: int = 3  # a step missed by more days than this is not sent late

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True)
class Facts:
    """What a strategy's conditions look at, as of the decision's day."""

    bucket: str
    bucket_entered_on: date
    open_promise: bool = False
    last_right_party_contact: datetime | None = None
    contactability: str = "reachable"
    broken_promises: int = 0
    risk_grade: str | None = None
    arrears: Decimal = Decimal("0")
    parties: frozenset[str] = frozenset({"borrower"})


@dataclass(frozen=True)
class Planned:
    step: Step
    occurrence: date  # the day this occurrence of the step was due


@dataclass(frozen=True)
class Assignment:
    strategy: Strategy
    arm: str  # champion | challenger


@dataclass(frozen=True)
class Experiment:
    product: str
    champion: str
    challenger: str | None = None
    challenger_share: Decimal = Decimal("0")
    salt: str = ""


@dataclass
class StrategyBook:
    strategies: dict[str, Strategy]
    experiments: dict[str, Experiment] = field(default_factory=dict)

    def assign(self, case_id: str, product: str) -> Assignment:
        """The case's strategy: stable for a case id (a hash, not a coin toss)."""
        experiment = self.experiments.get(product) or self.experiments.get("*")
        if experiment is None:
            raise StrategyError(f"no strategy for product {product!r} and no default ('*')")
        if experiment.challenger and in_share(
            case_id, experiment.challenger_share, experiment.salt
        ):
            return Assignment(self.strategies[experiment.challenger], "challenger")
        return Assignment(self.strategies[experiment.champion], "champion")

    def get(self, name: str) -> Strategy:
        return self.strategies[name]


def in_share(case_id: str, share: Decimal, salt: str) -> bool:
    """True for a stable `share` (0..1) of case ids: the first 8 bytes of sha256 as a point,
    in the share when `Decimal(str(point)) < share` (compared as the float below)."""
    digest = hashlib.sha256(f"{salt}:{case_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    if not share.is_finite():
        return Decimal(str(point)) < share
    return point < _threshold(share)


@lru_cache(maxsize=64)
def _threshold(share: Decimal) -> float:
    """The least float whose shortest decimal form is at least `share`: a float is below it
    exactly when its form is below `share` (the form grows with the float), so each new case
    compares two floats instead of making a Decimal (a rebuild assigns every case)."""
    at = float(share)
    while Decimal(str(math.nextafter(at, -math.inf))) >= share:
        at = math.nextafter(at, -math.inf)
    while Decimal(str(at)) < share:
        at = math.nextafter(at, math.inf)
    return at


def plan(strategy: Strategy, facts: Facts, today: date) -> list[Planned]:
    """The steps due today (or late by at most `max_late_days`) whose conditions hold."""
    days = (today - facts.bucket_entered_on).days
    planned: list[Planned] = []
    for step in strategy.buckets.get(facts.bucket, ()):
        if days < step.day:
            continue
        k = 0 if step.repeat_every is None else (days - step.day) // step.repeat_every
        occurrence = facts.bucket_entered_on + timedelta(
            days=step.day + k * (step.repeat_every or 0)
        )
        if (today - occurrence).days > strategy.max_late_days:
            continue
        if all(holds(c, facts, today) for c in step.conditions):
            planned.append(Planned(step, occurrence))
    return planned


def holds(condition: Condition, facts: Facts, today: date) -> bool:
    name, arg = condition.name, condition.arg
    if name == "no_open_promise":
        return not facts.open_promise
    if name == "open_promise":
        return facts.open_promise
    if name == "not_reached_for_days":
        last = facts.last_right_party_contact
        return last is None or (today - last.date()).days >= int(arg)
    if name == "contact_lost":
        return facts.contactability == "lost"
    if name == "reachable":
        return facts.contactability != "lost"
    if name == "promise_broken":
        return facts.broken_promises > 0
    if name == "risk_grade_in":
        return facts.risk_grade in set(arg)
    if name == "min_arrears":
        return facts.arrears >= Decimal(str(arg))
    if name == "has_party":
        return str(arg) in facts.parties
    raise StrategyError(f"unknown condition {name!r}")


# --- loading ------------------------------------------------------------------------


def _condition(raw: Any, where: str) -> Condition:
    if isinstance(raw, str):
        name, arg = raw, None
    elif isinstance(raw, dict) and len(raw) == 1:
        [(name, arg)] = raw.items()
    else:
        raise StrategyError(f"{where}: a condition is a name or {{name: argument}}")
    if name not in CONDITIONS:
        raise StrategyError(f"{where}: unknown condition {name!r}")
    return Condition(str(name), arg)


def _step(raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise StrategyError(f"{where}: a step is a mapping")
    try:
        step = Step(
            id=str(raw["step"]),
            action=str(raw["action"]),
            channel=str(raw.get("channel", "none")),
            party=str(raw.get("party", "borrower")),
            day=int(raw["day"]),
            repeat_every=int(raw["repeat_every"]) if raw.get("repeat_every") else None,
            template=str(raw["template"]) if raw.get("template") else None,
            conditions=tuple(_condition(c, where) for c in raw.get("when", []) or []),
        )
    except KeyError as exc:
        raise StrategyError(f"{where}: missing {exc.args[0]!r}") from None
    if step.action not in ACTIONS:
        raise StrategyError(f"{where}: unknown action {step.action!r}")
    if step.channel not in ACTION_CHANNELS[step.action]:
        raise StrategyError(f"{where}: {step.action} cannot use channel {step.channel!r}")
    if step.action == "SendReminder" and step.template is None:
        raise StrategyError(f"{where}: a reminder names its template")
    return step


def parse_strategy(raw: Any, source: str = "<strategy>") -> Strategy:
    if not isinstance(raw, dict):
        raise StrategyError(f"{source}: not a mapping")
    try:
        name, version, product = str(raw["name"]), int(raw["version"]), str(raw["product"])
    except KeyError as exc:
        raise StrategyError(f"{source}: missing {exc.args[0]!r}") from None
    buckets: dict[str, tuple[Step, ...]] = {}
    for bucket, steps in (raw.get("buckets") or {}).items():
        parsed = tuple(_step(s, f"{source} {bucket}[{i}]") for i, s in enumerate(steps or []))
        ids = [s.id for s in parsed]
        if len(set(ids)) != len(ids):
            raise StrategyError(f"{source} {bucket}: step ids must be unique")
        buckets[str(bucket)] = parsed
    return Strategy(name, version, product, buckets, int(raw.get("max_late_days", 3)))


def load_book(directory: Path | None = None) -> StrategyBook:
    """Every `*.yaml` strategy in `directory` and its `assignments.yaml`."""
    directory = directory or DEFAULT_DIR
    strategies: dict[str, Strategy] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "assignments.yaml":
            continue
        strategy = parse_strategy(yaml.safe_load(path.read_text()), path.name)
        if strategy.name in strategies:
            raise StrategyError(f"{path.name}: strategy {strategy.name!r} defined twice")
        strategies[strategy.name] = strategy
    raw = yaml.safe_load((directory / "assignments.yaml").read_text()) or {}
    experiments: dict[str, Experiment] = {}
    for product, entry in (raw.get("products") or {}).items():
        experiment = Experiment(
            product=str(product),
            champion=str(entry["champion"]),
            challenger=str(entry["challenger"]) if entry.get("challenger") else None,
            challenger_share=Decimal(str(entry.get("challenger_share", "0"))),
            salt=str(entry.get("salt", product)),
        )
        for name in filter(None, (experiment.champion, experiment.challenger)):
            if name not in strategies:
                raise StrategyError(f"assignments.yaml: {product}: no strategy {name!r}")
        if not Decimal("0") <= experiment.challenger_share <= Decimal("1"):
            raise StrategyError(f"assignments.yaml: {product}: share must be within 0..1")
        experiments[str(product)] = experiment
    return StrategyBook(strategies, experiments)
