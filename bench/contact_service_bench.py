"""contact-service speed: the guard in-process, decisions over HTTP, the queue's first page,
and the projection's throughput.

    uv run python bench/contact_service_bench.py [--quick]

One run, one embedded PostgreSQL (or DATABASE_URL) and one embedded broker (or
KAFKA_BOOTSTRAP_SERVERS); contact-service served by uvicorn in a subprocess (2 server processes, background
workers off),
clients in this process:
  (a) guard p50/p99 in-process: `decide` on a case with 5 contact points and 40 attempts
      in its history, request times spread over a week (no I/O);
  (b) `POST /v1/contact-permissions` from 32 concurrent clients for 10 s over 1,000 cases,
      and `POST /v1/contact-permissions:batch` (100 questions a request) from 8 clients;
      with the server's CPU time per decision (independent of what else the machine runs);
  (c) `GET /v1/queues/all` first page (50) with 100,000 open delinquent cases;
  (d) the projection: 20,000 case events (2,000 cases x 10) published to the broker, then
      consumed by the idempotent consumer into the read models; events per second;
  (e) `POST /v1/cases/{id}/contact-attempts` from 16 concurrent clients for 10 s over 1,000
      cases: each guarded, stored with its decision and command, and forwarded at once to a
      stub case-service in this process (answers 201 at once, so only contact-service's own
      work is measured); the server's CPU time per attempt.
Targets (issue 4): (a) < 2 ms p99, (b) >= 1,000/s, (c) < 100 ms, (d) >= 2,000 events/s;
(issue 14) (e) <= 2 ms of contact-service CPU per attempt.
Results go to bench/results/contact_service.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httptools
import psutil
from arrears.auth import issue_token
from arrears.messaging import (
    Applier,
    ConsumerConfig,
    EnvelopeProducer,
    IdempotentConsumer,
    ProducerConfig,
    case_event,
)
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres, create_database, with_database
from contact_service.policy import CN, ContactPoint, ContactRequest, decide
from contact_service.policy import model as m
from contact_service.policy.guard import permitted_at
from contact_service.policy.strategy import load_book
from contact_service.projections import Projection
from contact_service.readmodel import create_tables
from contact_service.settings import async_url
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

SECRET = "bench-secret-bench-secret-bench-secret"
REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
BOOK = load_book()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- (a) the guard in-process ----------------------------------------------------------------


def guard_latency(decisions: int) -> dict[str, float]:
    numbers = [f"+86138000000{i:02d}" for i in range(5)]
    case = m.CaseView(
        case_id="bench",
        timezone="Asia/Shanghai",
        candidate_timezones=("Asia/Urumqi",),
        points=tuple(ContactPoint(n, "borrower", "mobile") for n in numbers),
    )
    rng = random.Random(1)
    history = [
        m.Attempt(
            NOW - timedelta(hours=rng.randint(0, 7 * 24)),
            "call",
            "borrower",
            rng.choice(numbers),
            rng.choice(["no_answer", "busy", "voicemail", "right_party_contact"]),
        )
        for _ in range(40)
    ]
    requests = [
        ContactRequest(
            "borrower",
            "call",
            rng.choice(numbers),
            NOW + timedelta(minutes=rng.randint(0, 7 * 1440)),
        )
        for _ in range(decisions)
    ]
    timings = []
    for request in requests:
        started = time.perf_counter()
        decide(case, history, CN, request, NOW)
        timings.append(time.perf_counter() - started)
    return {
        "decisions": decisions,
        "p50_ms": round(percentile(timings, 0.50) * 1000, 4),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 4),
        "max_ms": round(max(timings) * 1000, 4),
    }


# --- seeding ---------------------------------------------------------------------------------


def stories(n_cases: int, events_per_case: int) -> list[Any]:
    """Each case: CaseOpened, a missed payment, M1, then calls (10 events by default)."""
    out = []
    sequence = 0
    for i in range(n_cases):
        case_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-case-{i}"))
        events: list[tuple[str, dict[str, Any]]] = [
            (
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
                            {"number": f"+86138{i:08d}", "kind": "mobile", "owner": "borrower"},
                            {"number": f"+86139{i:08d}", "kind": "home", "owner": "borrower"},
                        ],
                    },
                    "guarantors": [],
                    "collateral": None,
                    "rules": {},
                },
            ),
            (
                "PaymentMissed",
                {
                    "installment": 1,
                    "due_date": "2026-10-20",
                    "amount": f"{1000 + i % 500}.00",
                    "currency": "CNY",
                },
            ),
            (
                "DelinquencyBucketChanged",
                {"from_bucket": "M0", "to_bucket": "M1", "days_past_due": 1, "as_of": "2026-10-21"},
            ),
        ]
        while len(events) < events_per_case:
            at = NOW - timedelta(hours=len(events))
            events.append(
                (
                    "ContactAttempted",
                    {
                        "channel": "call",
                        "party": "borrower",
                        "contact_point": f"+86138{i:08d}",
                        "outcome": "no_answer",
                        "occurred_at": at.isoformat(),
                        "local_time_of_day": "morning",
                        "agent_id": "a",
                        "recording_ref": None,
                        "notes": None,
                    },
                )
            )
        for version, (name, data) in enumerate(events, start=1):
            sequence += 1
            out.append(
                case_event(
                    case_id=case_id,
                    version=version,
                    sequence=sequence,
                    event_name=name,
                    occurred_at=NOW - timedelta(days=12) + timedelta(minutes=version),
                    data=data,
                )
            )
    return out


async def seed_projection(database_url: str, n_cases: int) -> list[str]:
    engine = create_async_engine(async_url(database_url))
    await create_tables(engine)
    applier = Applier(consumer="seed", handler=Projection(BOOK, CN).handle)
    envelopes = stories(n_cases, 6)
    for start in range(0, len(envelopes), 1200):
        chunk = envelopes[start : start + 1200]
        async with engine.begin() as conn:
            await applier.apply(
                conn, [applier.prepare(e.to_json(), None) for e in chunk], careful=False
            )
    await engine.dispose()
    return sorted({e.subject or "" for e in envelopes})


def zones_awake() -> list[str]:
    """Two time zones where it is now (and for the next hour) within permitted hours: the
    server runs on the system clock, and a queue lists only cases callable now."""
    now = datetime.now(UTC)
    candidates = [
        "Asia/Shanghai",
        "Asia/Urumqi",
        "Asia/Tokyo",
        "Europe/Berlin",
        "Europe/London",
        "America/New_York",
        "America/Chicago",
        "America/Los_Angeles",
        "Pacific/Honolulu",
    ]
    awake = [
        z
        for z in candidates
        if permitted_at(CN, now, z) and permitted_at(CN, now + timedelta(hours=1), z)
    ]
    return (awake * 2)[:2]


async def seed_queue(database_url: str, n_cases: int) -> None:
    """100,000 open delinquent cases, straight into the tables (the projection is (d))."""
    zones = zones_awake()
    engine = create_async_engine(async_url(database_url))
    await create_tables(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO cs_cases (case_id, loan_id, product, currency, principal, status,"
                " opened_at, bucket, bucket_entered_on, days_past_due, oldest_due_on, arrears,"
                " paid_total, installments, risk_grade, timezone, candidate_timezones,"
                " contactability, flags, opted_out_channels, in_dispute, open_complaints,"
                " parties, promises_kept, promises_broken, strategy, arm, priority, blocked,"
                " version, updated_at) "
                "SELECT md5('q' || g), 'L-' || g, 'consumer_loan', 'CNY', 100000, 'open',"
                " now(), (ARRAY['M1','M2','M3','M4+'])[1 + g % 4], current_date - 5, 5 + g % 120,"
                " current_date - (5 + g % 120), 500 + (g % 9973), 0, '{}'::jsonb,"
                " (ARRAY['low','medium','high','doubtful_loss'])[1 + g % 4],"
                " (CAST(:zones AS text[]))[1 + g % 2], '{}', 'reachable', '{}',"
                " '{}', false, '{}', '{borrower}', 0, 0, 'consumer_loan.standard', 'champion',"
                " ((g % 4) + 1) * 10000000000000000::bigint + (500 + g % 9973) * 100000"
                " + 5 + g % 120, g % 50 = 0, 3, now() "
                "FROM generate_series(1, :n) g"
            ),
            {"n": n_cases, "zones": zones},
        )
        await conn.execute(
            text(
                "INSERT INTO cs_contact_points (case_id, value, party, kind, state, opted_out,"
                " position) SELECT md5('q' || g), '+86138' || lpad(g::text, 8, '0'), 'borrower',"
                " 'mobile', 'valid', '{}', 0 FROM generate_series(1, :n) g"
            ),
            {"n": n_cases},
        )
        await conn.execute(
            text("INSERT INTO cs_zones (zone) SELECT unnest(CAST(:zones AS text[]))"),
            {"zones": zones},
        )
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


# --- the service over HTTP --------------------------------------------------------------------


SERVER_PIDS: list[int] = []
PG_DATA: list[Path] = []  # the embedded server's data folder, to find its processes


def postgres_cpu_seconds() -> float:
    """CPU time used so far by the embedded PostgreSQL (postmaster and live backends)."""
    if not PG_DATA:
        return 0.0
    marker = str(PG_DATA[0])
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if cmdline and "postgres" in cmdline[0] and any(marker in part for part in cmdline):
            total = 0.0
            for member in [proc, *proc.children()]:
                try:
                    times = member.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
            return total
    return 0.0


def own_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def server_cpu_seconds() -> float:
    """CPU time used so far by the contact-service server processes (load-independent)."""
    total = 0.0
    for pid in SERVER_PIDS:
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                times = proc.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


@contextmanager
def contact_service(
    database_url: str, bootstrap: str, case_service_url: str | None = None
) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **({"CASE_SERVICE_URL": case_service_url} if case_service_url else {}),
        "DATABASE_URL": database_url,
        "JWT_SECRET": SECRET,
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "RUN_WORKERS": "false",
        "DB_POOL_SIZE": "16",
        "HTTP_WORKERS": os.environ.get("HTTP_WORKERS", "2"),  # one per core
    }
    log_path = Path(tempfile.mkstemp(prefix="contact-service-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "contact_service"], env=env, stdout=log, stderr=log
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()[-3000:]) from None
                time.sleep(0.2)
        SERVER_PIDS[:] = [proc.pid]
        yield base
    finally:
        SERVER_PIDS.clear()
        proc.terminate()
        proc.wait(timeout=20)


async def drive_decisions(
    base: str, case_ids: list[str], seconds: float, clients: int, batch: int = 1
) -> dict[str, Any]:
    headers = {
        "Authorization": f"Bearer {issue_token(SECRET, 'collector', 'bench', timedelta(hours=1))}"
    }
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    rng = random.Random(2)

    decided = 0

    def question() -> dict[str, Any]:
        index = rng.randrange(len(case_ids))
        return {
            "case_id": case_ids[index],
            "channel": "call",
            "contact_point": f"+86138{index:08d}",
            "at": NOW.isoformat(),
        }

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors, decided
        while time.monotonic() < deadline:
            if batch == 1:
                url, body = f"{base}/v1/contact-permissions", question()
            else:
                url = f"{base}/v1/contact-permissions:batch"
                body = {"requests": [question() for _ in range(batch)]}
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as r:
                await r.read()
                if r.status != 200:
                    errors += 1
            latencies.append(time.perf_counter() - started)
            decided += batch

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm up (connections, the pool, the JIT of nothing).
        async with session.post(
            f"{base}/v1/contact-permissions",
            json={"case_id": case_ids[0], "channel": "call", "contact_point": "+8613800000000"},
            headers=headers,
        ) as r:
            await r.read()
        started, cpu, pg_cpu = time.monotonic(), server_cpu_seconds(), postgres_cpu_seconds()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed, cpu = time.monotonic() - started, server_cpu_seconds() - cpu
        pg_cpu = postgres_cpu_seconds() - pg_cpu
    return {
        "clients": clients,
        "per_request": batch,
        "decisions": decided,
        "per_second": round(decided / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "errors": errors,
        # Server CPU per decision: what one core can serve, whatever else the machine runs.
        "server_cpu_ms_per_decision": round(cpu / max(1, decided) * 1000, 3),
        "decisions_per_server_core_second": round(decided / cpu, 1) if cpu else None,
        "postgres_cpu_ms_per_decision": round(pg_cpu / max(1, decided) * 1000, 3),
    }


async def queue_first_page(base: str, reads: int) -> dict[str, float]:
    headers = {
        "Authorization": f"Bearer {issue_token(SECRET, 'collector', 'bench', timedelta(hours=1))}"
    }
    timings = []
    items = 0
    cpu = pg_cpu = 0.0
    async with aiohttp.ClientSession() as session:
        for n in range(reads + 3):
            if n == 3:
                cpu, pg_cpu = server_cpu_seconds(), postgres_cpu_seconds()
            started = time.perf_counter()
            async with session.get(f"{base}/v1/queues/all?limit=50", headers=headers) as r:
                body = await r.json()
                assert r.status == 200, body
            if n >= 3:  # the first reads warm the caches
                timings.append(time.perf_counter() - started)
                items = len(body["items"])
    return {
        "reads": reads,
        "items": items,
        "p50_ms": round(percentile(timings, 0.5) * 1000, 2),
        "p99_ms": round(percentile(timings, 0.99) * 1000, 2),
        "server_cpu_ms_per_page": round((server_cpu_seconds() - cpu) / reads * 1000, 2),
        "postgres_cpu_ms_per_page": round((postgres_cpu_seconds() - pg_cpu) / reads * 1000, 2),
    }


# --- (e) contact attempts, forwarded ----------------------------------------------------------

STUB_ANSWER = b'{"case_id":"stub","version":2,"events":["ContactAttempted"]}'


class StubCaseService(asyncio.Protocol):
    """case-service's answer to a command, at once: 201 (keep-alive)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.parser = httptools.HttpRequestParser(self)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        self.transport.write(
            b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: "
            + str(len(STUB_ANSWER)).encode()
            + b"\r\n\r\n"
            + STUB_ANSWER
        )


def attempt_moment(rng: random.Random) -> str:
    """Within 11:00-12:00 in Shanghai (permitted) on one of the last 7 days, in the past."""
    now = datetime.now(UTC)
    eleven = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if eleven + timedelta(hours=1) > now:
        eleven -= timedelta(days=1)
    moment = eleven - timedelta(days=rng.randrange(7), seconds=rng.randrange(3600))
    return moment.isoformat()


async def drive_attempts(
    database_url: str, bootstrap: str, case_ids: list[str], seconds: float, clients: int
) -> dict[str, Any]:
    port = free_port()
    stub = await asyncio.get_running_loop().create_server(StubCaseService, "127.0.0.1", port)
    try:
        with contact_service(database_url, bootstrap, f"http://127.0.0.1:{port}") as base:
            return await _attempts(base, case_ids, seconds, clients)
    finally:
        stub.close()


async def _attempts(base: str, case_ids: list[str], seconds: float, clients: int) -> dict[str, Any]:
    token = issue_token(SECRET, "collector", "bench", timedelta(hours=1))
    rng = random.Random(3)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = 0.0

    # Each case's own mobile (as `stories` opened it).
    number = {
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-case-{i}")): f"+86138{i:08d}"
        for i in range(len(case_ids))
    }

    def attempt() -> tuple[str, dict[str, Any]]:
        index = rng.randrange(len(case_ids))
        body = {
            "channel": "call",
            "party": "borrower",
            "contact_point": number[case_ids[index]],
            "outcome": "no_answer",
            "occurred_at": attempt_moment(rng),
            "recording_ref": f"rec-{rng.randrange(10**9)}",
        }
        return f"{base}/v1/cases/{case_ids[index]}/contact-attempts", body

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            url, body = attempt()
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
            started = time.perf_counter()
            async with session.post(url, json=body, headers=headers) as r:
                await r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + 1.0  # warm up: connections, pools, caches
        await asyncio.gather(*(client(session) for _ in range(clients)))
        latencies.clear()
        warm = dict(statuses)
        statuses.clear()
        started, cpu, pg_cpu = time.monotonic(), server_cpu_seconds(), postgres_cpu_seconds()
        deadline = started + seconds
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed, cpu = time.monotonic() - started, server_cpu_seconds() - cpu
        pg_cpu = postgres_cpu_seconds() - pg_cpu
    done = sum(statuses.values())
    return {
        "clients": clients,
        "attempts": done,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "warm_up_statuses": {str(k): v for k, v in sorted(warm.items())},
        "per_second": round(done / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        # contact-service's CPU per attempt (guard, decision, command, forwarding, answer):
        # issue 14's figure, whatever else the machine runs.
        "server_cpu_ms_per_attempt": round(cpu / max(1, done) * 1000, 3),
        "postgres_cpu_ms_per_attempt": round(pg_cpu / max(1, done) * 1000, 3),
    }


# --- (d) the projection -----------------------------------------------------------------------


async def projection_throughput(
    database_url: str, bootstrap: str, n_cases: int
) -> dict[str, float]:
    topic = f"bench-{uuid.uuid4().hex[:8]}.case-events.v1"
    envelopes = stories(n_cases, 10)
    producer = EnvelopeProducer(ProducerConfig(bootstrap, linger_ms=20))
    await producer.start()
    for start in range(0, len(envelopes), 2000):
        await producer.publish(topic, envelopes[start : start + 2000])
    await producer.stop()
    engine = create_async_engine(async_url(database_url), pool_size=8)
    await create_tables(engine)
    consumer = IdempotentConsumer(
        ConsumerConfig(
            name="bench-projection", topics=[topic], bootstrap_servers=bootstrap, max_batch=1000
        ),
        engine,
        Projection(BOOK, CN).handle,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(consumer.ready.wait(), 60)
    first_at: float | None = None
    first_applied = 0
    cpu = pg_cpu = 0.0
    while consumer.totals.applied < len(envelopes):
        if first_at is None and consumer.totals.applied:
            first_at, first_applied = time.perf_counter(), consumer.totals.applied
            cpu, pg_cpu = own_cpu_seconds(), postgres_cpu_seconds()
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    ended = time.perf_counter()
    cpu, pg_cpu = own_cpu_seconds() - cpu, postgres_cpu_seconds() - pg_cpu
    stop.set()
    await task
    await engine.dispose()
    assert first_at is not None
    # From the first applied batch to the last: consumer-group joining is not projection time.
    events = len(envelopes) - first_applied
    return {
        "events": len(envelopes),
        "cases": n_cases,
        "per_second": round(events / (ended - first_at), 1),
        # CPU per event, whatever else the machine runs: the consumer (Python, with aiokafka)
        # and PostgreSQL. 1000 / python_cpu_ms is what one core of Python can sustain.
        "python_cpu_ms_per_event": round(cpu / max(1, events) * 1000, 3),
        "postgres_cpu_ms_per_event": round(pg_cpu / max(1, events) * 1000, 3),
        "duplicates": consumer.totals.duplicates,
        "parked": len(consumer.totals.parked),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller, for a smoke run")
    parser.add_argument("--only", choices=("attempts",), help="run one part (with what it needs)")
    args = parser.parse_args()
    quick = args.quick
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure: the load average says how much.
        "load_average_before": os.getloadavg(),
    }
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("DATABASE_URL"):
            admin = os.environ["DATABASE_URL"]
        else:
            pg = stack.enter_context(EmbeddedPostgres(Path(tmp) / "pg"))
            PG_DATA[:] = [pg.data_dir]
            admin = pg.url()
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        else:
            bootstrap = stack.enter_context(EmbeddedBroker()).bootstrap_servers

        only = args.only
        if not only:
            results["guard_in_process"] = guard_latency(2_000 if quick else 50_000)
            print("guard in-process:", results["guard_in_process"], flush=True)

        decisions_db = "bench_cs_" + uuid.uuid4().hex[:8]
        create_database(admin, decisions_db)
        url = with_database(admin, decisions_db)
        case_ids = asyncio.run(seed_projection(url, 200 if quick else 1000))
        if not only:
            with contact_service(url, bootstrap) as base:
                results["decisions_over_http"] = asyncio.run(
                    drive_decisions(base, case_ids, 3 if quick else 10, 32)
                )
                results["decisions_over_http_batch_100"] = asyncio.run(
                    drive_decisions(base, case_ids, 3 if quick else 10, 8, batch=100)
                )
            print("decisions over HTTP:", results["decisions_over_http"], flush=True)
            print("decisions over HTTP, 100 a request:", results["decisions_over_http_batch_100"])
        results["attempts_over_http"] = asyncio.run(
            drive_attempts(url, bootstrap, case_ids, 3 if quick else 10, 16)
        )
        print("attempts over HTTP, forwarded:", results["attempts_over_http"], flush=True)
        if only:
            print(json.dumps(results, indent=2))
            return

        queue_db = "bench_cs_" + uuid.uuid4().hex[:8]
        create_database(admin, queue_db)
        url = with_database(admin, queue_db)
        asyncio.run(seed_queue(url, 10_000 if quick else 100_000))
        with contact_service(url, bootstrap) as base:
            results["queue_first_page"] = asyncio.run(queue_first_page(base, 20 if quick else 100))
            results["queue_first_page"]["open_cases"] = 10_000 if quick else 100_000
        print("queue first page:", results["queue_first_page"], flush=True)

        projection_db = "bench_cs_" + uuid.uuid4().hex[:8]
        create_database(admin, projection_db)
        url = with_database(admin, projection_db)
        results["projection"] = asyncio.run(
            projection_throughput(url, bootstrap, 300 if quick else 2_000)
        )
        print("projection:", results["projection"], flush=True)
    results["load_average_after"] = os.getloadavg()
    out = (
        REPO
        / "bench"
        / "results"
        / ("contact_service_quick.json" if quick else "contact_service.json")
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
