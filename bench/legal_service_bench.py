"""legal-service speed: the projection's throughput and the limitation report.

    uv run python bench/legal_service_bench.py [--quick]

One embedded PostgreSQL (or DATABASE_URL) and one embedded broker (or
KAFKA_BOOTSTRAP_SERVERS):
  (a) the projection: 20,000 case events (2,000 cases x 10: opened, missed payments,
      contact attempts, a promise made and broken, a demand served, a payment) published to
      the broker, then consumed by the idempotent consumer into lg_cases; events per second
      from the first poll to the last commit. Baseline in the same run: the pure fold alone
      (no I/O), the ceiling.
  (b) `GET /v1/legal/limitations?expiring_within=90d` with 100,000 open cases in lg_cases
      (limitation expiries spread over three years): first page (100) with the total, and the
      whole report (every case expiring within 90 days, pages of 1,000), through the ASGI app
      in this process (FastAPI, auth, the SQL and the JSON; no socket).
Targets (issue 5): (a) >= 2,000 events/s, (b) < 200 ms.
Results go to bench/results/legal_service.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from arrears.auth import issue_token
from arrears.clock import ManualClock
from arrears.messaging import (
    ConsumerConfig,
    Envelope,
    EnvelopeProducer,
    IdempotentConsumer,
    ProducerConfig,
    case_event,
)
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.postgres import EmbeddedPostgres, create_database, with_database
from legal_service.api.app import create_app
from legal_service.policy.thresholds import DEFAULT_POLICY
from legal_service.projections import fold
from legal_service.projections.handlers import Projection
from legal_service.readmodel import create_tables
from legal_service.readmodel.view import columns
from legal_service.settings import LegalServiceSettings, async_url
from sqlalchemy.ext.asyncio import create_async_engine

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

SECRET = "bench-secret-bench-secret-bench-secret"
REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def history(case_id: str, start: datetime) -> list[Envelope]:
    due = start.date()
    events: list[tuple[str, dict[str, Any]]] = [
        ("CaseOpened", {"loan_id": "L-" + case_id[:8], "product": "consumer_loan",
                        "currency": "CNY", "principal": "100000.00",
                        "borrower": {"id": "B", "name": "N", "timezone": "Asia/Shanghai"},
                        "guarantors": [{"id": "G1", "name": "G"}], "collateral": None,
                        "rules": {}}),
        ("PaymentMissed", {"installment": 1, "due_date": due.isoformat(), "amount": "3000.00",
                           "currency": "CNY"}),
        ("ContactAttempted", {"channel": "call", "outcome": "no_answer",
                              "occurred_at": (start + timedelta(days=3)).isoformat()}),
        ("ContactAttempted", {"channel": "call", "outcome": "right_party_contact",
                              "occurred_at": (start + timedelta(days=5)).isoformat()}),
        ("PromiseToPayMade", {"promise_id": "p1", "amount": "3000.00", "currency": "CNY",
                              "promised_date": (due + timedelta(days=10)).isoformat(),
                              "made_at": (start + timedelta(days=5)).isoformat()}),
        ("PromiseBroken", {"promise_id": "p1", "amount": "3000.00", "currency": "CNY",
                           "paid_amount": "0.00", "as_of": (due + timedelta(days=11)).isoformat(),
                           "promised_date": (due + timedelta(days=10)).isoformat()}),
        ("PaymentMissed", {"installment": 2, "due_date": (due + timedelta(days=30)).isoformat(),
                           "amount": "3000.00", "currency": "CNY"}),
        ("NoticeServed", {"kind": "demand_letter", "delivered_via": "registered_mail",
                          "served_at": (start + timedelta(days=40)).isoformat(),
                          "proof": "EMS123", "interrupts_limitation": True}),
        ("ContactAttempted", {"channel": "sms", "outcome": "delivered",
                              "occurred_at": (start + timedelta(days=45)).isoformat()}),
        ("PaymentReceived", {"amount": "500.00", "currency": "CNY", "reference": "PAY-1",
                             "paid_at": (start + timedelta(days=50)).isoformat(),
                             "allocations": [{"installment": "1", "amount": "500.00"}],
                             "promise_id": None}),
    ]  # fmt: skip
    return [
        case_event(
            case_id=case_id,
            version=v,
            sequence=v,
            event_name=name,
            occurred_at=start + timedelta(days=v),
            data=data,
        )
        for v, (name, data) in enumerate(events, start=1)
    ]


def fold_rate(envelopes: list[Envelope]) -> float:
    started = time.perf_counter()
    states: dict[str, dict[str, Any]] = {}
    for e in envelopes:
        assert e.subject is not None
        state = states.setdefault(e.subject, fold.new_state(e.subject))
        fold.apply(state, e.event_name, e.data)
        columns(state, DEFAULT_POLICY)
    return len(envelopes) / (time.perf_counter() - started)


async def projection(url: str, bootstrap: str, cases: int) -> dict[str, Any]:
    engine = create_async_engine(async_url(url), pool_size=8)
    await create_tables(engine)
    topic = f"bench-legal.{uuid.uuid4().hex[:10]}.case-events.v1"
    start = NOW - timedelta(days=400)
    envelopes = [e for _ in range(cases) for e in history(str(uuid.uuid4()), start)]
    baseline = fold_rate(envelopes)
    producer = EnvelopeProducer(ProducerConfig(bootstrap, linger_ms=20))
    await producer.start()
    for i in range(0, len(envelopes), 5000):
        await producer.publish(topic, envelopes[i : i + 5000])
    await producer.stop()
    consumer = IdempotentConsumer(
        ConsumerConfig(name="bench-legal", topics=[topic], bootstrap_servers=bootstrap,
                       max_batch=1000),
        engine,
        Projection().handle,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await consumer.ready.wait()
    began = time.perf_counter()
    while consumer.totals.applied + len(consumer.totals.parked) < len(envelopes):
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - began
    stop.set()
    await task
    await engine.dispose()
    return {
        "events": len(envelopes),
        "seconds": round(seconds, 2),
        "events_per_second": round(len(envelopes) / seconds),
        "parked": len(consumer.totals.parked),
        "baseline_fold_only_events_per_second": round(baseline),
    }


async def seed_cases(url: str, n: int) -> int:
    """n open cases straight into lg_cases (states from the fold), expiries over 3 years."""
    import asyncpg  # type: ignore[import-untyped]

    engine = create_async_engine(async_url(url))
    await create_tables(engine)
    await engine.dispose()
    rng = random.Random(5)
    rows = []
    within = 0
    for i in range(n):
        case_id = str(uuid.UUID(int=rng.getrandbits(128)))
        due = NOW.date() - timedelta(days=rng.randint(0, 3 * 365 + 30))
        state = fold.new_state(case_id)
        fold.apply(state, "CaseOpened", {"loan_id": f"L-{i}", "currency": "CNY",
                                         "principal": "50000.00", "guarantors": []})  # fmt: skip
        fold.apply(state, "PaymentMissed", {"installment": 1, "due_date": due.isoformat(),
                                            "amount": "2000.00"})  # fmt: skip
        c = columns(state, DEFAULT_POLICY)
        if c["limitation_expires_on"] <= NOW.date() + timedelta(days=90):
            within += 1
        rows.append((case_id, c["loan_id"], c["currency"], c["principal"], c["outstanding"],
                     c["status"], c["stage"], c["oldest_due_on"], c["limitation_runs_from"],
                     c["limitation_expires_on"], False, False, 2, NOW,
                     orjson.dumps(state).decode()))  # fmt: skip
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "lg_cases",
            records=rows,
            columns=["case_id", "loan_id", "currency", "principal", "outstanding", "status",
                     "stage", "oldest_due_on", "limitation_runs_from", "limitation_expires_on",
                     "has_guarantors", "has_collateral", "version", "updated_at", "state"],
        )  # fmt: skip
        await conn.execute("ANALYZE lg_cases")
    finally:
        await conn.close()
    return within


async def limitation_report(url: str, bootstrap: str, rounds: int) -> dict[str, Any]:
    settings = LegalServiceSettings(
        database_url=url, kafka_bootstrap_servers=bootstrap, jwt_secret=SECRET, log_json=False
    )
    app = create_app(settings, clock=ManualClock(NOW), workers=False)
    headers = {"Authorization": f"Bearer {issue_token(SECRET, 'legal', 'b', timedelta(hours=1))}"}
    first: list[float] = []
    full: list[float] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://legal") as http:
            total = 0
            for i in range(rounds + 3):
                began = time.perf_counter()
                page = await http.get("/v1/legal/limitations?expiring_within=90d", headers=headers)
                page.raise_for_status()
                if i >= 3:  # warm-up
                    first.append((time.perf_counter() - began) * 1000)
                total = page.json()["total"]
            for i in range(max(3, rounds // 5) + 1):
                began = time.perf_counter()
                cursor, seen = None, 0
                while True:
                    query = "/v1/legal/limitations?expiring_within=90d&limit=1000"
                    if cursor:
                        query += f"&cursor={cursor}"
                    body = (await http.get(query, headers=headers)).json()
                    seen += len(body["items"])
                    cursor = body["next_cursor"]
                    if not cursor:
                        break
                if i:
                    full.append((time.perf_counter() - began) * 1000)
                assert seen == total, (seen, total)
    return {
        "cases_expiring_within_90d": total,
        "first_page_ms": {"p50": round(percentile(first, 0.5), 1),
                          "p99": round(percentile(first, 0.99), 1)},
        "whole_report_ms": {"p50": round(percentile(full, 0.5), 1),
                            "max": round(max(full), 1)},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller, for a smoke run")
    quick = parser.parse_args().quick
    results: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count()}
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("DATABASE_URL"):
            admin = os.environ["DATABASE_URL"]
        else:
            admin = stack.enter_context(EmbeddedPostgres(Path(tmp) / "pg")).url()
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        else:
            bootstrap = stack.enter_context(EmbeddedBroker()).bootstrap_servers

        name = "bench_lg_" + uuid.uuid4().hex[:8]
        create_database(admin, name)
        results["projection"] = asyncio.run(
            projection(with_database(admin, name), bootstrap, 200 if quick else 2000)
        )
        print("projection:", results["projection"], flush=True)

        name = "bench_lg_" + uuid.uuid4().hex[:8]
        create_database(admin, name)
        url = with_database(admin, name)
        cases = 10_000 if quick else 100_000
        began = time.perf_counter()
        asyncio.run(seed_cases(url, cases))
        results["limitation_report"] = {
            "cases": cases,
            "seed_seconds": round(time.perf_counter() - began, 1),
            **asyncio.run(limitation_report(url, bootstrap, 20 if quick else 100)),
        }
        print("limitation report:", results["limitation_report"], flush=True)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "legal_service.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
