"""The simulator against a real case-service: the cases it opens exist with the events it
counted, and one seed gives one portfolio."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
from arrears.auth import issue_token
from arrears_dev.simulator import SimulationConfig, simulate
from arrears_dev.simulator.model import Portfolio
from arrears_dev.simulator.planner import plan_day

from .conftest import JWT_SECRET, StartCaseService

LOANS, DAYS, SEED = 20, 10, 7


def _config(case_url: str, seed: int = SEED, now: datetime | None = None) -> SimulationConfig:
    return SimulationConfig(
        loans=LOANS, days=DAYS, seed=seed, case_url=case_url, jwt_secret=JWT_SECRET, now=now
    )


def _a_minute_ago() -> datetime:
    """One `now` for runs that must send the same bodies (it caps the last day's times)."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def _histories(case_url: str, loan_ids: list[str]) -> dict[str, list[str]]:
    """Each loan's case history as its event types, read as an auditor would."""
    token = issue_token(JWT_SECRET, "auditor", "test-auditor", timedelta(hours=1))
    histories: dict[str, list[str]] = {}
    with httpx.Client(base_url=case_url, headers={"Authorization": f"Bearer {token}"}) as client:
        for loan_id in loan_ids:
            found = client.get("/v1/cases", params={"loan_id": loan_id}).json()["items"]
            if not found:
                continue
            events = client.get(f"/v1/cases/{found[0]['case_id']}/events").json()["events"]
            histories[loan_id] = [event["type"] for event in events]
    return histories


def _loan_ids(summary: Any) -> list[str]:
    return [f"SIM{summary.seed}-{i:06d}" for i in range(summary.loans)]


def test_the_simulated_cases_exist_with_the_events_counted(
    start_case_service: StartCaseService,
) -> None:
    url = start_case_service()
    summary = asyncio.run(simulate(_config(url), progress=None))

    assert summary.rejected == {}, summary.rejection_samples
    histories = _histories(url, _loan_ids(summary))
    assert len(histories) == summary.cases > 0
    recorded = Counter(name for history in histories.values() for name in history)
    assert dict(recorded) == summary.events_by_type
    assert sum(recorded.values()) == summary.events
    assert all(history[0] == "CaseOpened" for history in histories.values())
    assert recorded["PaymentMissed"] >= summary.cases
    assert recorded["ContactAttempted"] > 0


def test_on_a_file_clock_promises_fall_due_and_break_on_their_simulated_day(
    start_case_service: StartCaseService, tmp_path: Path
) -> None:
    clock_file = tmp_path / "clock"
    url = start_case_service(clock_file)
    # Noon yesterday: the last simulated day's 13:00 lies after it, and must not be used.
    now = datetime.combine(datetime.now(UTC).date() - timedelta(days=1), time(12), UTC)
    config = replace(_config(url, now=now), loans=60, days=30, clock_file=str(clock_file))
    summary = asyncio.run(simulate(config, progress=None))

    assert summary.rejected == {}, summary.rejection_samples
    # On the system clock a promise made in the simulated past is dated after the real
    # today and cannot break; here case-service lived through each day.
    assert summary.events_by_type.get("PromiseBroken", 0) > 0, summary.events_by_type
    # (a promise due on the last day breaks only at the next night's aging, after the run)
    assert summary.events_by_type["PromiseBroken"] <= summary.behaviour["promises_broken"]
    histories = _histories(url, _loan_ids(summary))
    recorded = Counter(name for history in histories.values() for name in history)
    assert dict(recorded) == summary.events_by_type
    # The store's clock was the simulated one: the last event is stamped on the last day.
    token = issue_token(JWT_SECRET, "auditor", "test-auditor", timedelta(hours=1))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        feed = client.get("/v1/events", params={"after": 0, "limit": 10_000}).json()["events"]
    first_day = feed[0]["time"][:10]
    assert first_day == summary.first_day, (first_day, summary.first_day)
    # The clock never passed `now` and is handed back: case-service is on real time again,
    # with nothing stamped after the moment it returns to.
    assert not clock_file.exists()
    ran_until = now + timedelta(seconds=summary.wall_seconds + 5)
    latest = max(datetime.fromisoformat(event["time"]) for event in feed)
    assert now - timedelta(hours=1) < latest <= ran_until, (latest, now)


def test_one_seed_gives_one_portfolio(start_case_service: StartCaseService) -> None:
    first, second = start_case_service(), start_case_service()
    now = _a_minute_ago()
    one = asyncio.run(simulate(_config(first, now=now), progress=None))
    two = asyncio.run(simulate(_config(second, now=now), progress=None))

    assert one.events_by_type == two.events_by_type
    assert one.buckets_today == two.buckets_today
    assert _histories(first, _loan_ids(one)) == _histories(second, _loan_ids(two))


def test_a_second_run_with_the_same_seed_repeats_no_command(
    start_case_service: StartCaseService,
) -> None:
    url = start_case_service()
    now = _a_minute_ago()
    asyncio.run(simulate(_config(url, now=now), progress=None))
    again = asyncio.run(simulate(_config(url, now=now), progress=None))

    # Every command carries its stable Idempotency-Key (or is idempotent on its own, like
    # opening a case), so a resend records nothing; aging a past day again is refused now
    # (never before the last day aged to), so the second run records nothing at all.
    assert not again.events_by_type, again
    # Resent to cases closed since, the daily file's installments and the payments that keep
    # a promise (sent without a key: their time is "now") are refused, and record nothing.
    assert set(again.rejected) <= {"missed 409", "payment 409", "aging 422"}, (
        again.rejection_samples
    )


def test_the_model_alone_is_deterministic() -> None:

    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    plans = []
    for _ in range(2):
        portfolio = Portfolio.generate(200, 60, 3, now)
        days = [portfolio.day(n) for n in range(60)]
        plans.append(
            [[plan_day(loan, day, now.date()) for loan in portfolio.loans] for day in days]
        )
    assert plans[0] == plans[1]
    assert Portfolio.generate(50, 30, 3, now).loans[0].open_body != (
        Portfolio.generate(50, 30, 4, now).loans[0].open_body
    )
