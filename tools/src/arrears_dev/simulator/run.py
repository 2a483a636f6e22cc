"""The day loop: plan every loan's day, then play it against the services in a fixed order.

Each simulated day: open the cases of newly delinquent loans, reopen cured cases that
missed again, send the daily missed-payments file, run case-service's aging for that day,
then the day's payments, contacts, promises, notices and legal steps (each loan's in order,
loans concurrently). The simulated days are the `days` days ending today.

The services judge business times against their own clocks and refuse times in the future.
On the system clock (services started without CLOCK_FILE), a promise made on a simulated
day is therefore dated after the real today and cannot break within the run. With
`clock_file` (the services started with the same CLOCK_FILE, as `make run` and the
benchmark do) the simulator moves their clock to each simulated day, so promises fall due,
break and are kept on the days the model says. The last simulated day is today, and the
clock never goes past the real now; at the end the simulator removes the file, so the
services run on in real time without a step back.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any, TextIO

from arrears.business_date import business_date
from arrears.clock import Clock, FileClock, SystemClock, release_file_clock, set_file_clock

from arrears_dev.simulator.driver import Driver, mint_tokens
from arrears_dev.simulator.model import DayPlan, Portfolio
from arrears_dev.simulator.planner import plan_day


@dataclass(frozen=True)
class SimulationConfig:
    loans: int
    days: int
    seed: int
    case_url: str
    jwt_secret: str
    contact_url: str | None = None
    legal_url: str | None = None
    concurrency: int = 32
    prefix: str = "SIM"
    clock_file: str | None = None
    # No business time is sent after this (default: a minute ago). Early in a UTC day it caps
    # the last day's times, so two runs that should send the same bodies pass the same value.
    now: datetime | None = None


# On a file clock, each simulated day is played at 21:00 in Shanghai: after every business
# time the model uses that day (all before 12:00 UTC), still inside the contact hours.
SIMULATED_TIME_OF_DAY = clock_time(13, 0)


@dataclass
class Summary:
    loans: int
    days: int
    seed: int
    first_day: str
    last_day: str
    routed_to: list[str]
    cases: int
    events: int
    events_by_type: dict[str, int]
    requests: int
    wall_seconds: float
    events_per_second: float
    requests_per_second: float
    buckets_today: dict[str, int]
    worst_bucket_reached: dict[str, int]
    roll_rates: dict[str, float]
    behaviour: dict[str, int]
    forwarded: dict[str, int]
    rejected: dict[str, int]
    rejection_samples: dict[str, str] = field(default_factory=dict)
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Progress:
    def __init__(self, days: int, out: TextIO | None) -> None:
        self.days = days
        self.out = out
        self.every = 1 if out is not None and out.isatty() else max(1, days // 10)

    def __call__(self, n: int, day: str, driver: Driver, started: float) -> None:
        if self.out is None or ((n + 1) % self.every and n + 1 != self.days):
            return
        elapsed = time.perf_counter() - started
        tally = driver.tally
        width = 24
        done = int(width * (n + 1) / self.days)
        line = (
            f"[{'#' * done}{'.' * (width - done)}] day {n + 1}/{self.days} {day}  "
            f"cases {len(driver.case_ids):,}  events {tally.event_total:,} "
            f"({tally.event_total / max(elapsed, 1e-9):,.0f}/s)  "
            f"rejected {sum(tally.rejected.values()):,}"
        )
        end = "\r" if self.out.isatty() and n + 1 != self.days else "\n"
        print(line, end=end, file=self.out, flush=True)


async def simulate(config: SimulationConfig, progress: TextIO | None = sys.stderr) -> Summary:
    # A minute's margin: the services' clocks may run a little behind ours.
    now = config.now or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    clocked = config.clock_file is not None
    portfolio = Portfolio.generate(
        config.loans, config.days, config.seed, now, config.prefix, clocked=clocked
    )
    # The services' today is the bank's business date (Asia/Shanghai by default): from
    # 16:00 UTC on it is already the next day there, and a promise dated the UTC tomorrow
    # would not lie after it.
    today = business_date(now)
    services_clock: Clock = FileClock(config.clock_file) if config.clock_file else SystemClock()
    show = Progress(config.days, progress)
    started = time.perf_counter()
    async with Driver(
        config.case_url,
        mint_tokens(config.jwt_secret),
        contact_url=config.contact_url,
        legal_url=config.legal_url,
        concurrency=config.concurrency,
        clock=services_clock,
    ) as driver:
        phases: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - clock
            clock = time.perf_counter()

        try:
            for n in range(config.days):
                day = portfolio.day(n)
                if config.clock_file:
                    _move_clock(config.clock_file, day, now)
                # The services' today: the simulated day on a file clock, else the real today.
                their_today = day if clocked else today
                plans = [
                    (loan.loan_id, plan_day(loan, day, their_today)) for loan in portfolio.loans
                ]
                lap("plan")
                await _play_day(driver, day, plans, lap)
                show(n, day.isoformat(), driver, started)
        finally:
            if config.clock_file:
                release_file_clock(config.clock_file)
        wall = time.perf_counter() - started
        for loan in portfolio.loans:
            loan.finish()
        tally = driver.tally
        return Summary(
            loans=config.loans,
            days=config.days,
            seed=config.seed,
            first_day=portfolio.first_day.isoformat(),
            last_day=today.isoformat(),
            routed_to=driver.routed,
            cases=len(driver.case_ids),
            events=tally.event_total,
            events_by_type=dict(sorted(tally.events.items())),
            requests=tally.requests,
            wall_seconds=round(wall, 3),
            events_per_second=round(tally.event_total / max(wall, 1e-9), 1),
            requests_per_second=round(tally.requests / max(wall, 1e-9), 1),
            buckets_today=portfolio.buckets(today),
            worst_bucket_reached=portfolio.worst_buckets(),
            roll_rates=portfolio.roll_rates(),
            behaviour=portfolio.stats(),
            forwarded=dict(sorted(tally.forwarded.items())),
            rejected=dict(sorted(tally.rejected.items())),
            rejection_samples=dict(sorted(tally.samples.items())),
            phase_seconds={k: round(v, 2) for k, v in phases.items()},
        )


async def _play_day(
    driver: Driver, day: date, plans: list[tuple[str, DayPlan]], lap: Callable[[str], None]
) -> None:
    """One day's plans against the services, in the order a bank's day runs."""
    opening = [plan.open_body for _, plan in plans if plan.open_body is not None]
    if opening:
        await driver.open_cases(opening)
    await driver.run_actions({k: p.before_batch for k, p in plans if p.before_batch})
    lap("open")
    missed = [item for _, plan in plans for item in plan.missed]
    if missed:
        await driver.missed_payments(missed, day)
    lap("missed_batch")
    await driver.age(day)
    lap("aging")
    await driver.run_actions({k: p.actions for k, p in plans if p.actions})
    lap("actions")


def _move_clock(clock_file: str, day: date, now: datetime) -> None:
    # Never past the real now: the services return to the system clock after the last day.
    set_file_clock(clock_file, min(datetime.combine(day, SIMULATED_TIME_OF_DAY, UTC), now))


def render(summary: Summary) -> str:
    """The summary as a person reads it."""
    s = summary
    lines = [
        f"Simulated {s.loans:,} loans over {s.days} days ({s.first_day} .. {s.last_day}), "
        f"seed {s.seed}, via {', '.join(s.routed_to)}",
        f"  cases {s.cases:,}   events {s.events:,}   requests {s.requests:,}",
        f"  wall {s.wall_seconds:,.1f} s   {s.events_per_second:,.0f} events/s   "
        f"{s.requests_per_second:,.0f} requests/s   ("
        + ", ".join(f"{k} {v:,.1f} s" for k, v in s.phase_seconds.items())
        + ")",
        "  today by bucket: " + _pairs(s.buckets_today),
        "  worst bucket reached: " + _pairs(s.worst_bucket_reached),
        "  roll rates: " + ", ".join(f"{k} {v:.0%}" for k, v in s.roll_rates.items()),
        "  events: " + _pairs(s.events_by_type),
        "  behaviour: " + _pairs(s.behaviour),
    ]
    if s.forwarded:
        lines.append("  through other services: " + _pairs(s.forwarded))
    if s.rejected:
        lines.append("  refused: " + _pairs(s.rejected))
        lines.extend(f"    {label}: {detail}" for label, detail in s.rejection_samples.items())
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "-"
