"""contact-service's answers behind the console's dashboard, over 100,000 cases.

    uv run --frozen python bench/contact_dashboard_bench.py [--cases 100000] [--requests 200]

One embedded PostgreSQL (or DATABASE_URL). `--seeded` cases (default 2,000) are projected
through contact-service's Projection from case events (bucket moves, payments, attempts,
promises kept and broken, closures, disputes, agency placements); the read model is then
filled up to `--cases` by copying their rows under new case ids in SQL (as
bench/console_bench.py does) and the KPI counters are recounted from the rows (the copies
bypass the projection; migration 0005's fill). contact-service is then served by uvicorn
(background workers off) and each of the dashboard's six calls is timed, one request at a
time, p50 / p99 on loopback, beside the same-run yardstick: the former statements run
in-process on the same database (the KPI aggregates over every row, `kpis_by_scan`; the
lists without their new indexes, dropped inside a rolled-back transaction, under EXPLAIN
ANALYZE). Results go to bench/results/contact_dashboard.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from arrears.auth import issue_token
from arrears.messaging import Applier, case_event
from arrears_dev.embedded.postgres import EmbeddedPostgres, create_database, with_database
from contact_service.policy import CN
from contact_service.policy.strategy import load_book
from contact_service.projections import Projection
from contact_service.readmodel import create_tables
from contact_service.readmodel import repository as repo
from contact_service.settings import async_url
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from contact_service_bench import SECRET, contact_service

os.environ.setdefault("MIGRATE_ON_START", "true")
REPO = Path(__file__).resolve().parent.parent
BOOK = load_book()
TODAY = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stories(n_cases: int) -> list[Any]:
    """Each case opened 60 days ago, missed a payment, moved to M1 and later buckets; one in
    three paid, one in five promised (kept or broken), one in nine closed, one in 25
    disputed, one in 30 placed with an agency; calls over the last month."""
    out = []
    sequence = 0
    for i in range(n_cases):
        case_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dashboard-case-{i}"))
        opened = TODAY - timedelta(days=60)
        due = (opened + timedelta(days=5)).date()
        events: list[tuple[datetime, str, dict[str, Any]]] = [
            (
                opened,
                "CaseOpened",
                {
                    "loan_id": f"L-{i:08d}",
                    "product": "consumer_loan",
                    "currency": "CNY",
                    "principal": "100000.00",
                    "borrower": {
                        "id": f"B-{i}",
                        "name": "Li Wei",
                        "timezone": "Asia/Shanghai",
                        "phones": [
                            {"number": f"+86138{i:08d}", "kind": "mobile", "owner": "borrower"}
                        ],
                    },
                    "guarantors": [],
                    "collateral": None,
                    "rules": {},
                },
            ),
            (
                opened + timedelta(days=5),
                "PaymentMissed",
                {
                    "installment": 1,
                    "due_date": due.isoformat(),
                    "amount": "1200.00",
                    "currency": "CNY",
                },
            ),
        ]
        buckets = ["M0", "M1", "M2", "M3"][: 2 + i % 3]
        for k, (a, b) in enumerate(itertools.pairwise(buckets)):
            at = opened + timedelta(days=6 + 30 * k)
            events.append(
                (
                    at,
                    "DelinquencyBucketChanged",
                    {
                        "from_bucket": a,
                        "to_bucket": b,
                        "days_past_due": 1 + 30 * k,
                        "as_of": at.date().isoformat(),
                    },
                )
            )
        for k in range(i % 4):
            at = TODAY - timedelta(days=1 + (i + 7 * k) % 28, hours=k)
            events.append(
                (
                    at,
                    "ContactAttempted",
                    {
                        "channel": "call",
                        "party": "borrower",
                        "contact_point": f"+86138{i:08d}",
                        "outcome": "right_party_contact" if k == 1 else "no_answer",
                        "occurred_at": at.isoformat(),
                        "local_time_of_day": "morning",
                        "agent_id": "a",
                        "recording_ref": "r" if k == 1 else None,
                        "notes": None,
                    },
                )
            )
        if i % 3 == 0:
            at = TODAY - timedelta(days=i % 25)
            events.append(
                (
                    at,
                    "PaymentReceived",
                    {
                        "amount": "300.00",
                        "currency": "CNY",
                        "paid_at": at.isoformat(),
                        "reference": f"r-{i}",
                        "allocations": [{"installment": "1", "amount": "300.00"}],
                        "promise_id": None,
                    },
                )
            )
        if i % 5 == 0:
            made = TODAY - timedelta(days=i % 20)
            promised = made + timedelta(days=3)
            pid = f"p-{i}"
            events.append(
                (
                    made,
                    "PromiseToPayMade",
                    {
                        "promise_id": pid,
                        "amount": "500.00",
                        "currency": "CNY",
                        "promised_date": promised.date().isoformat(),
                        "made_at": made.isoformat(),
                    },
                )
            )
            if promised < TODAY and i % 2:
                events.append(
                    (
                        promised,
                        "PromiseKept",
                        {
                            "promise_id": pid,
                            "kept_on": promised.date().isoformat(),
                            "amount": "500.00",
                            "currency": "CNY",
                        },
                    )
                )
            elif promised < TODAY:
                events.append(
                    (
                        promised + timedelta(days=1),
                        "PromiseBroken",
                        {
                            "promise_id": pid,
                            "as_of": (promised + timedelta(days=1)).date().isoformat(),
                            "amount": "500.00",
                            "currency": "CNY",
                            "paid_amount": "0.00",
                            "promised_date": promised.date().isoformat(),
                        },
                    )
                )
        if i % 25 == 0:
            at = TODAY - timedelta(days=2)
            events.append(
                (at, "DisputeRaised", {"reason": "not mine", "raised_at": at.isoformat()})
            )
        if i % 30 == 1:
            at = TODAY - timedelta(days=3)
            events.append(
                (
                    at,
                    "PlacedWithAgency",
                    {
                        "agency_id": f"agency-{i % 4}",
                        "placed_at": at.isoformat(),
                        "consent_ref": "c-1",
                        "fee_rate": "0.20",
                    },
                )
            )
        if i % 9 == 0:
            at = TODAY - timedelta(days=i % 29)
            events.append(
                (
                    at,
                    "CaseClosed",
                    {
                        "reason": ["cured", "settled", "paid_in_full"][i % 3],
                        "closed_at": at.isoformat(),
                    },
                )
            )
        events.sort(key=lambda e: e[0])
        for version, (at, name, data) in enumerate(events, start=1):
            sequence += 1
            out.append(
                case_event(
                    case_id=case_id,
                    version=version,
                    sequence=sequence,
                    event_name=name,
                    occurred_at=at,
                    data=data,
                )
            )
    return out


CLONED = ("cs_cases", "cs_contact_points", "cs_outcomes", "cs_promises", "cs_attempts")
REFILL = "migrations/versions/0005_kpi_counters_and_indexes_for_the_.py"


async def seed(engine: AsyncEngine, seeded: int, total: int) -> None:
    await create_tables(engine)
    applier = Applier(consumer="seed", handler=Projection(BOOK, CN).handle)
    envelopes = stories(seeded)
    parked = 0
    for at in range(0, len(envelopes), 2000):
        async with engine.begin() as conn:
            outcome = await applier.apply(
                conn,
                [applier.prepare(e.to_json(), None) for e in envelopes[at : at + 2000]],
                careful=True,
            )
            parked += len(outcome.parked)
    if parked:
        raise RuntimeError(f"{parked} seed events parked")
    copies = -(-(total - seeded) // seeded)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TEMP TABLE clone_map AS SELECT t.case_id AS template,"
                " md5(t.case_id || ':' || g)::uuid::text AS case_id, g"
                " FROM cs_cases t CROSS JOIN generate_series(1, :copies) g"
                " ORDER BY g, t.case_id LIMIT :extra"
            ),
            {"copies": copies, "extra": total - seeded},
        )
        for table in CLONED:
            columns = [
                r[0]
                for r in await conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE table_name ="
                        " :t AND table_schema = current_schema() ORDER BY ordinal_position"
                    ),
                    {"t": table},
                )
            ]
            values = {
                "case_id": "m.case_id",
                "loan_id": "t.loan_id || '-' || m.g",
                "promise_id": "md5(t.promise_id || m.case_id)::uuid::text",
                "fingerprint": "md5(t.fingerprint || m.case_id)",
            }
            kept = [c for c in columns if c != "id"]
            picked = ", ".join(values.get(c, f"t.{c}") for c in kept)
            await conn.execute(
                text(
                    f"INSERT INTO {table} ({', '.join(kept)}) SELECT {picked}"
                    f" FROM {table} t JOIN clone_map m ON m.template = t.case_id"
                )
            )
        # The copies bypassed the projection: recount the KPI counters from the rows.
        await conn.execute(text("DELETE FROM cs_kpi_counts"))
        source = (REPO / "services/contact-service/src/contact_service" / REFILL).read_text()
        scope: dict[str, Any] = {}
        exec(compile(source, REFILL, "exec"), scope)
        for statement in scope["FILL"]:
            await conn.execute(text(statement))
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        for table in (*CLONED, "cs_kpi_counts"):
            await conn.execute(text(f"VACUUM ANALYZE {table}"))


def timed(call: Any, n: int) -> dict[str, float]:
    for _ in range(3):
        call()
    ms = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        ms.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(percentile(ms, 0.99), 2)}


async def former(engine: AsyncEngine, n: int) -> dict[str, Any]:
    """The same-run yardstick: the former statements on the same database."""
    out: dict[str, Any] = {}
    today = TODAY.date()
    ms = []
    async with engine.connect() as conn:
        for k in range(n + 2):
            started = time.perf_counter()
            await repo.kpis_by_scan(conn, today - timedelta(days=29), today + timedelta(days=1))
            if k >= 2:
                ms.append((time.perf_counter() - started) * 1000)
        out["kpis_by_scan_in_process"] = {
            "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
        }
        ms = []
        for k in range(n + 2):
            started = time.perf_counter()
            await repo.kpis(conn, today - timedelta(days=29), today + timedelta(days=1))
            if k >= 2:
                ms.append((time.perf_counter() - started) * 1000)
        out["kpis_from_counters_in_process"] = {
            "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(percentile(ms, 0.99), 2),
        }
        plans = {
            "blocked": (
                "cs_cases_blocked_by_priority",
                "SELECT c.case_id FROM cs_cases c WHERE c.status = 'open' AND c.blocked"
                " ORDER BY c.priority DESC, c.case_id LIMIT 200",
            ),
            "placed": (
                "cs_cases_placed_by_agency",
                "SELECT c.case_id FROM cs_cases c WHERE c.status = 'open'"
                " AND c.agency_id IS NOT NULL ORDER BY c.agency_id, c.priority DESC, c.case_id"
                " LIMIT 200",
            ),
        }
        former_promises = (
            "SELECT p.promise_id, c.loan_id FROM cs_promises p JOIN cs_cases c"
            " ON c.case_id = p.case_id WHERE p.status = 'open'"
            " ORDER BY p.promised_date, p.case_id, p.promise_id LIMIT 200"
        )
        new_promises = (
            "SELECT p.promise_id, c.loan_id FROM (SELECT * FROM cs_promises WHERE status = 'open'"
            " ORDER BY promised_date, case_id, promise_id LIMIT 200) p"
            " JOIN cs_cases c ON c.case_id = p.case_id"
            " ORDER BY p.promised_date, p.case_id, p.promise_id"
        )

        async def explain(sql: str) -> float:
            rows = await conn.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + sql))
            return float(rows.scalar_one()[0]["Execution Time"])

        for name, (index, sql) in plans.items():
            after = min([await explain(sql) for _ in range(5)])
            await conn.execute(text("BEGIN"))
            await conn.execute(text(f"DROP INDEX {index}"))
            before = min([await explain(sql) for _ in range(5)])
            await conn.execute(text("ROLLBACK"))
            out[f"{name}_explain_ms"] = {"without_index": before, "with_index": after}
        await conn.execute(text("BEGIN"))
        await conn.execute(text("DROP INDEX cs_promises_by_status_due"))
        await conn.execute(text("DROP INDEX cs_promises_by_due"))
        before = min([await explain(former_promises) for _ in range(5)])
        await conn.execute(text("ROLLBACK"))
        after = min([await explain(new_promises) for _ in range(5)])
        out["promises_explain_ms"] = {"former_statement": before, "page_then_join": after}
    return out


def measure(base: str, n: int) -> dict[str, Any]:
    bearer = issue_token(SECRET, "supervisor", "bench", timedelta(hours=1))
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {bearer}"}, timeout=60)
    today = TODAY.date()
    calls = {
        "kpis": ("/v1/kpis", {}),
        "promises_due_today": (
            "/v1/promises",
            {"status": "open", "due_from": today, "due_to": today},
        ),
        "promises_due_this_week": (
            "/v1/promises",
            {"status": "open", "due_from": today + timedelta(1), "due_to": today + timedelta(7)},
        ),
        "promises_broken_yesterday": (
            "/v1/promises",
            {"status": "broken", "resolved_on": today - timedelta(1)},
        ),
        "promises_open_200": ("/v1/promises", {"status": "open"}),
        "blocked_cases": ("/v1/blocked-cases", {}),
        "agency_placements": ("/v1/agency-placements", {}),
    }
    out: dict[str, Any] = {}
    for name, (path, query) in calls.items():
        params = {k: str(v) for k, v in query.items()}
        out[name] = timed(lambda p=path, q=params: api.get(p, params=q).raise_for_status(), n)
    six = [v for k, v in calls.items() if k != "promises_open_200"]

    def page() -> None:
        for path, query in six:
            api.get(path, params={k: str(v) for k, v in query.items()}).raise_for_status()

    out["dashboard_calls_one_after_another"] = timed(page, n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seeded", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    results: dict[str, Any] = {"cases": args.cases, "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        pg = None
        if os.environ.get("DATABASE_URL"):
            admin = os.environ["DATABASE_URL"]
        else:
            pg = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
            pg.start()
            admin = pg.url()
        try:
            name = "bench_dash_" + uuid.uuid4().hex[:8]
            create_database(admin, name)
            url = with_database(admin, name)
            engine = create_async_engine(async_url(url))
            started = time.monotonic()
            asyncio.run(seed(engine, args.seeded, args.cases))
            print(f"seeded in {time.monotonic() - started:.0f} s", file=sys.stderr)
            with contact_service(url, "127.0.0.1:1") as base:
                results["api"] = measure(base, args.requests)
            results["former"] = asyncio.run(former(create_async_engine(async_url(url)), 20))
        finally:
            if pg is not None:
                pg.stop()
    results["load_average_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    out = REPO / "bench" / "results" / "contact_dashboard.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
