"""The relay and consumers: end-to-end lag, relay catch-up, rebuild from the feed, and the
broker's raw produce/consume rates with the same client as the ceiling (issue 3).

    uv run python bench/relay_bench.py [--quick]

One run, one embedded PostgreSQL with durable settings (or DATABASE_URL) and one embedded
tansu broker (or KAFKA_BOOTSTRAP_SERVERS); encryption on, as in production:
  (0) ceiling: aiokafka alone, the same envelopes' bytes: produce with the relay's producer
      settings (acks=all, linger 2 ms) in awaited batches of the relay's batch size (its
      acknowledgement pattern), per record (`send`) and as whole record batches (the
      relay's `publish_records`), and all in flight; consume with a plain
      AIOKafkaConsumer; records per second;
  (1) relay catch-up: a backlog of 200,000 events (20,000 quick) seeded through
      `CaseApplication.save` (500 cases per save), then `python -m case_service.relay`
      started; events per second from its first saved position to the head;
  (2) rebuild: case-service served by uvicorn on that store, `arrears.messaging.rebuild`
      reading `GET /v1/events` over HTTP (pages of 10,000) into legal-service's own read
      model (its projection's batch path, as `python -m legal_service rebuild` runs it),
      into contact-service's (`python -m contact_service rebuild`'s path: its projection's
      batch path, subject keys fetched from case-service a page at a time with
      `POST /v1/subject-keys:batch`, restrictions applied again) and into a per-case
      summary read model (one statement per batch), each in a database of its own; the
      feed read alone (pages one after another) and a handler doing nothing as references;
      CPU per event of this process, of the case-service serving the feed and of the
      embedded PostgreSQL (printed as rebuild+case-service+PostgreSQL us);
  (3) end-to-end lag: a writer process commits commands (one missed installment per case,
      10 cases per save every 10 ms, what is due in one save when behind) at 1,000 events/s
      for 60 s (10 s quick); the relay process publishes; an `IdempotentConsumer` in this
      process applies them to the summary read model (its batch handler). Lag = the
      consumer's commit of the row - the writer's commit of the event, both wall-clock on
      this machine. p50/p99/max.
Targets (issue 14, ratios within one run): (1) >= 0.75x the produce ceiling in the relay's
acknowledgement pattern; (2) legal- and contact-service's rebuilds >= 0.25x the consume
ceiling; (3) p99 < 250 ms at 1,000 events/s sustained, the writer reaching the rate.
Results go to bench/results/relay.json (relay_quick.json with --quick).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from arrears.auth import issue_token
from arrears.messaging import (
    Applier,
    ConsumerConfig,
    Envelope,
    FeedClient,
    IdempotentConsumer,
    rebuild,
)
from arrears.messaging.processing import Item, Outcome
from arrears.messaging.producer import EnvelopeProducer, ProducerConfig
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres, create_database, with_database
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.relay import CaseEventEncoder, RelaySettings
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

SECRET = "bench-secret-bench-secret-bench-secret"
# One key for this process and the processes it starts (the writer, the relay, the server).
CIPHER_KEY = os.environ.setdefault("BENCH_CIPHER_KEY", AESCipher.create_key(num_bytes=32))
REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
CHUNK = RelaySettings.model_fields["relay_batch_size"].default  # the relay's batch
FETCH_MAX_WAIT_MS = int(
    os.environ.get("BENCH_FETCH_MAX_WAIT_MS", ConsumerConfig.fetch_max_wait_ms)
)  # the consumer's default unless overridden


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def settings_for(database_url: str) -> CaseServiceSettings:
    return CaseServiceSettings(
        database_url=database_url,
        cipher_key=CIPHER_KEY,
        jwt_secret=SECRET,
        kafka_bootstrap_servers="127.0.0.1:1",
    )


def new_case(n: int, prefix: str) -> CollectionCase:
    return CollectionCase.open(
        loan_id=f"{prefix}-{n}",
        product="consumer_loan",
        currency="CNY",
        principal=Decimal("100000.00"),
        borrower={
            "id": f"B-{prefix}-{n}",
            "name": "Bench Borrower",
            "timezone": "Asia/Shanghai",
            "address": "1 Bench Road",
            "phones": [{"number": f"+86138{n:08d}", "kind": "mobile", "owner": "borrower"}],
        },
        guarantors=[],
        collateral=None,
        now=NOW,
    )


def miss(case: CollectionCase, installment: int, now: datetime) -> None:
    case.record_missed_payment(
        installment=installment,
        due_date=date(2025, 1, 1) + timedelta(days=installment),
        amount=Decimal("1200.00"),
        now=now,
    )


# --- seeding ---------------------------------------------------------------------------------


def seed_backlog(database_url: str, n_events: int) -> dict[str, float]:
    """n_events / 10 cases, each CaseOpened and 9 missed installments; 500 cases per save."""
    app = CaseApplication(settings_for(database_url))
    started = time.perf_counter()
    try:
        n_cases = n_events // 10
        for first in range(0, n_cases, 500):
            batch = []
            for n in range(first, min(n_cases, first + 500)):
                case = new_case(n, "BACKLOG")
                for installment in range(1, 10):
                    miss(case, installment, NOW)
                batch.append(case)
            app.save(*batch)
        events = app.recorder.max_notification_id() or 0
    finally:
        app.close()
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": round(seconds, 2), "per_second": round(events / seconds)}


def sample_envelopes(database_url: str, n: int) -> list[Envelope]:
    app = CaseApplication(settings_for(database_url))
    try:
        encoder = CaseEventEncoder(app.mapper)
        return encoder.envelopes(app.recorder.select_notifications(start=1, limit=n))
    finally:
        app.close()


# --- (0) the ceiling: aiokafka alone ---------------------------------------------------------


async def raw_produce(bootstrap: str, topic: str, values: list[bytes], n: int) -> dict[str, Any]:
    """The broker's produce ceiling with aiokafka alone, in the relay's acknowledgement
    pattern (batches of CHUNK, every ack awaited before the next batch) and all in flight:
    per-record `send` (the issue's yardstick) and whole record batches (`publish_records`,
    the relay's own sending code with nothing else around it)."""
    records = [(str(i % 20_000).encode(), values[i % len(values)]) for i in range(n)]
    out: dict[str, Any] = {"records": n, "bytes_each": round(sum(map(len, values)) / len(values))}
    headers = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
    for mode in ("awaited_batches", "all_in_flight"):
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=512 * 1024
        )
        await producer.start()
        try:
            started = time.perf_counter()
            step = CHUNK if mode == "awaited_batches" else 20_000
            for first in range(0, n, step):
                futures = [
                    await producer.send(f"{topic}.{mode}", value=v, key=k, headers=headers)
                    for k, v in records[first : first + step]
                ]
                await asyncio.gather(*futures)
            out[mode] = round(n / (time.perf_counter() - started))
        finally:
            await producer.stop()
    batcher = EnvelopeProducer(ProducerConfig(bootstrap_servers=bootstrap, acks="all", linger_ms=2))
    await batcher.start()
    try:
        started = time.perf_counter()
        for first in range(0, n, CHUNK):
            await batcher.publish_records(
                f"{topic}.record_batches",
                [(k, v, headers) for k, v in records[first : first + CHUNK]],
            )
        out["awaited_record_batches"] = round(n / (time.perf_counter() - started))
    finally:
        await batcher.stop()
    return out


async def raw_consume(bootstrap: str, topic: str, n: int) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    seen, started = 0, None
    try:
        while seen < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=CHUNK)
            if started is None and batches:
                started = time.perf_counter()
            seen += sum(len(r) for r in batches.values())
    finally:
        await consumer.stop()
    assert started is not None
    return {"records": seen, "per_second": round(seen / (time.perf_counter() - started))}


# --- (1) relay catch-up ----------------------------------------------------------------------


@contextmanager
def relay_process(database_url: str, bootstrap: str, topic: str) -> Iterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CIPHER_KEY": CIPHER_KEY,
        "JWT_SECRET": SECRET,
        "RELAY_TOPIC": topic,
        "RELAY_METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
    }
    log = tempfile.NamedTemporaryFile(prefix="relay-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "case_service.relay"], env=env, stdout=log, stderr=log
    )
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def relay_position(app: CaseApplication) -> int:
    with app.recorder_.datastore.transaction(commit=False) as curs:
        curs.execute("SELECT to_regclass('relay_position') IS NOT NULL AS e")
        row = curs.fetchone()
        if not row or not row["e"]:
            return 0
        curs.execute("SELECT position FROM relay_position WHERE name = 'case-events'")
        found = curs.fetchone()
    return int(found["position"]) if found else 0


def relay_catch_up(database_url: str, bootstrap: str) -> dict[str, Any]:
    app = CaseApplication(settings_for(database_url))
    topic = f"bench-{uuid.uuid4().hex[:8]}.case-events.v1"
    try:
        head = int(app.recorder.max_notification_id() or 0)
        started = time.perf_counter()
        first: tuple[float, int] | None = None
        with relay_process(database_url, bootstrap, topic):
            while True:
                position = relay_position(app)
                now = time.perf_counter()
                if first is None and position:
                    first = (now, position)
                if position >= head:
                    break
                if now - started > 600:
                    raise RuntimeError(f"relay stuck at {position} of {head}")
                time.sleep(0.02)
        ended = time.perf_counter()
    finally:
        app.close()
    assert first is not None
    return {
        "backlog": head,
        "topic": topic,
        "per_second": round((head - first[1]) / (ended - first[0])),
        "with_start_per_second": round(head / (ended - started)),
        "seconds": round(ended - started, 2),
    }


# --- read model used by (2) and (3) ----------------------------------------------------------

SUMMARY_DDL = (
    "CREATE TABLE IF NOT EXISTS rm_summary (case_id text PRIMARY KEY, events int NOT NULL,"
    " last_version int NOT NULL, last_type text NOT NULL, missed numeric NOT NULL)"
)


SUMMARY_UPSERT = (
    "INSERT INTO rm_summary AS s (case_id, events, last_version, last_type, missed)"
    " VALUES ($1, 1, $2, $3, $4::numeric) ON CONFLICT (case_id) DO UPDATE SET"
    " events = s.events + 1, last_version = EXCLUDED.last_version,"
    " last_type = EXCLUDED.last_type, missed = s.missed + EXCLUDED.missed"
)


async def summary(conn: AsyncConnection, envelope: Envelope) -> None:
    """A per-case summary: one upsert per event, the shape of a typical projection, sent
    straight to the asyncpg connection inside the consumer's transaction (as
    contact-service's projection does)."""
    missed = envelope.data.get("amount") if envelope.event_name == "PaymentMissed" else None
    raw = await conn.get_raw_connection()
    await raw.driver_connection.execute(  # type: ignore[union-attr]
        SUMMARY_UPSERT, envelope.subject, envelope.caseversion, envelope.event_name, missed or "0"
    )


SUMMARY_UPSERT_MANY = (
    "INSERT INTO rm_summary AS s (case_id, events, last_version, last_type, missed)"
    " SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::numeric[])"
    " ON CONFLICT (case_id) DO UPDATE SET events = s.events + EXCLUDED.events,"
    " last_version = EXCLUDED.last_version, last_type = EXCLUDED.last_type,"
    " missed = s.missed + EXCLUDED.missed"
)


async def summary_batch(conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
    """The same summary, each case written once per batch (the consumer's batch handler):
    one statement for the whole batch."""
    cases: dict[str, list[Any]] = {}
    for envelope in envelopes:
        row = cases.setdefault(envelope.subject or "", [0, 0, "", Decimal(0)])
        row[0] += 1
        row[1], row[2] = envelope.caseversion, envelope.event_name
        if envelope.event_name == "PaymentMissed":
            row[3] += Decimal(envelope.data.get("amount") or "0")
    raw = await conn.get_raw_connection()
    ids = sorted(cases)  # a fixed lock order
    await raw.driver_connection.execute(  # type: ignore[union-attr]
        SUMMARY_UPSERT_MANY,
        ids,
        [cases[c][0] for c in ids],
        [cases[c][1] for c in ids],
        [cases[c][2] for c in ids],
        [cases[c][3] for c in ids],
    )


async def nothing(conn: AsyncConnection, envelope: Envelope) -> None:  # noqa: ARG001
    return None


async def read_model_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    async with engine.begin() as conn:
        await conn.execute(text(SUMMARY_DDL))
    return engine


# --- (2) rebuild from the feed ---------------------------------------------------------------


@contextmanager
def case_service(database_url: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": SECRET,
        "CIPHER_KEY": CIPHER_KEY,
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }
    log = tempfile.NamedTemporaryFile(prefix="case-service-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "case_service"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(Path(log.name).read_text()[-3000:]) from None
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


async def legal_context(url: str) -> Any:
    """legal-service's own read model in a database of its own, migrated to head."""
    from arrears.clock import ManualClock
    from legal_service.context import Context
    from legal_service.migrations import MIGRATIONS
    from legal_service.settings import LegalServiceSettings

    MIGRATIONS.prepare(url, migrate=True)
    settings = LegalServiceSettings(
        database_url=url, jwt_secret=SECRET, kafka_bootstrap_servers="127.0.0.1:1"
    )
    return Context.build(settings, ManualClock(NOW))


async def contact_context(url: str, base: str) -> Any:
    """contact-service's own read models in a database of its own, migrated to head, its
    subject keys fetched from the case-service under test."""
    from arrears.clock import ManualClock
    from contact_service.context import Context
    from contact_service.migrations import MIGRATIONS
    from contact_service.settings import ContactServiceSettings

    MIGRATIONS.prepare(url, migrate=True)
    settings = ContactServiceSettings(
        database_url=url,
        jwt_secret=SECRET,
        cipher_key=CIPHER_KEY,
        case_service_url=base,
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    return Context.build(settings, ManualClock(NOW))


# The embedded PostgreSQL's postmaster (None with DATABASE_URL): its CPU, with its ended
# backends' (reaped children) and its live ones', is the rebuild's third process.
POSTMASTER: psutil.Process | None = None


def postgres_cpu() -> float:
    if POSTMASTER is None:
        return 0.0
    t = POSTMASTER.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in POSTMASTER.children():
        try:
            c = child.cpu_times()
        except psutil.Error:  # ended meanwhile: counted in the postmaster's children_*
            continue
        total += c.user + c.system
    return total


class CpuMeter:
    """CPU seconds of this process, of the case-service serving the feed and of PostgreSQL
    (both the store and the read models' databases), per event."""

    def __init__(self, server_pid: int) -> None:
        self.server = psutil.Process(server_pid)

    def _now(self) -> tuple[float, float, float]:
        theirs = self.server.cpu_times()
        return time.process_time(), theirs.user + theirs.system, postgres_cpu()

    def __enter__(self) -> CpuMeter:
        self.started = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ended = self._now()

    def per_event(self, events: int) -> dict[str, float]:
        ours, theirs, database = (b - a for a, b in zip(self.started, self.ended, strict=True))
        out = {
            "consumer_cpu_us_per_event": round(ours / max(1, events) * 1e6, 1),
            "case_service_cpu_us_per_event": round(theirs / max(1, events) * 1e6, 1),
        }
        if POSTMASTER is not None:
            out["postgres_cpu_us_per_event"] = round(database / max(1, events) * 1e6, 1)
        return out


def rebuilt(report: Any, meter: CpuMeter) -> dict[str, Any]:
    return {
        "events": report.events,
        "seconds": round(report.seconds, 2),
        "per_second": round(report.rate),
        **meter.per_event(report.events),
    }


async def rebuild_rates(
    base: str,
    server_pid: int,
    read_model_url: str,
    legal_url: str,
    contact_url: str,
    page_size: int,
) -> dict[str, Any]:
    from contact_service.rebuild import rebuild_read_models
    from contact_service.wiring import start_outbox
    from legal_service.projections.handlers import Projection
    from legal_service.projections.handlers import reset as legal_reset

    token = issue_token(SECRET, "service", "bench", timedelta(hours=1))
    feed = FeedClient(base, token, timeout=120)
    engine = await read_model_engine(read_model_url)
    legal = await legal_context(legal_url)
    contact = await contact_context(contact_url, base)
    out: dict[str, Any] = {"page_size": page_size}
    try:
        with CpuMeter(server_pid) as meter:
            started, after, events = time.perf_counter(), 0, 0
            while True:  # the feed alone: pages fetched and parsed one by one, nothing applied
                page = await feed.page(after, page_size)
                if not page.envelopes:
                    break
                events += len(page.envelopes)
                after = page.next_after
        out["feed_only_per_second"] = round(events / (time.perf_counter() - started))
        out["feed_only"] = meter.per_event(events)

        async def reset(conn: AsyncConnection) -> None:
            await conn.execute(text("TRUNCATE rm_summary"))

        for name, handler, batch in (
            ("null_handler", nothing, None),
            ("summary_read_model", summary, summary_batch),
        ):
            applier = Applier(
                consumer=f"bench-rebuild-{name}", handler=handler, batch_handler=batch
            )
            with CpuMeter(server_pid) as meter:
                report = await rebuild(engine, applier, feed, reset, page_size=page_size)
            out[name] = rebuilt(report, meter)
        # legal-service's own projection and rebuild path (`python -m legal_service rebuild`):
        # each case folded and written once per page.
        projection = Projection(legal.policy)
        applier = Applier(
            "bench-rebuild-legal", projection.handle, batch_handler=projection.handle_batch
        )
        with CpuMeter(server_pid) as meter:
            report = await rebuild(legal.engine, applier, feed, legal_reset, page_size=page_size)
        out["legal_read_model"] = rebuilt(report, meter)
        async with legal.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM lg_cases"))).scalar_one()
        out["legal_read_model"]["cases"] = rows
        # contact-service's, as `python -m contact_service rebuild` runs it: its projection's
        # batch path, personal fields opened with keys from case-service, restrictions after.
        with CpuMeter(server_pid) as meter:
            async with start_outbox(contact, publish=False):
                report = await rebuild_read_models(contact, feed)
        out["contact_read_model"] = rebuilt(report, meter)
        async with contact.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT count(*) FROM cs_cases"))).scalar_one()
        out["contact_read_model"]["cases"] = rows
    finally:
        await feed.aclose()
        await engine.dispose()
        await legal.engine.dispose()
        await contact.engine.dispose()
    return out


# --- (3) end-to-end lag ----------------------------------------------------------------------


def writer(database_url: str, n_cases: int, rate: int, seconds: float, out: Path) -> None:
    """Open the cases, pause, then commit `rate` events/s for `seconds`; record commit times."""
    app = CaseApplication(settings_for(database_url))
    try:
        cases = []
        for first in range(0, n_cases, 500):
            batch = [new_case(n, "LAG") for n in range(first, min(n_cases, first + 500))]
            app.save(*batch)
            cases.extend(batch)
        time.sleep(8)  # let the openings drain through the relay and the consumer
        committed: list[tuple[str, int, float]] = []
        per_save = max(1, rate // 100)
        installment = {case.id: 0 for case in cases}
        cursor, produced = 0, 0
        t0 = time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds:
            while produced < rate * elapsed:
                # Everything due in one save (at least `per_save`, at most 20 ticks' worth):
                # a writer that fell behind catches up in larger transactions, as the
                # service's batching command writer does; lag still counts from each commit.
                due = int(rate * elapsed) - produced
                batch = []
                for _ in range(min(max(per_save, due), per_save * 20)):
                    case = cases[cursor % len(cases)]
                    cursor += 1
                    installment[case.id] += 1
                    miss(case, installment[case.id], datetime.now(UTC))
                    batch.append(case)
                pending = [
                    (str(c.id), e.originator_version) for c in batch for e in c.pending_events
                ]
                app.save(*batch)
                at = time.time()
                committed.extend((c, v, at) for c, v in pending)
                produced += len(pending)
            time.sleep(0.01 - (time.perf_counter() - t0) % 0.01)
        achieved = produced / (time.perf_counter() - t0)
    finally:
        app.close()
    out.write_text(json.dumps({"achieved_rate": achieved, "committed": committed}))


class TimedConsumer(IdempotentConsumer):
    """Records, for each event, the wall-clock time its batch's transaction committed."""

    # (committed, sent by the relay, its batch began) per (case, version)
    committed_at: dict[tuple[str, int], tuple[float, float, float]]
    batches: list[tuple[float, float, int]]  # (began, committed, records) per partition batch

    async def _apply(self, items: list[Item]) -> Outcome:
        began = time.time()
        outcome = await super()._apply(items)
        at = time.time()
        self.batches.append((began, at, len(items)))
        for item in items:
            if item.envelope is not None and item.envelope.subject:
                # The record's CreateTime: when the relay handed it to its producer.
                sent = getattr(item.ref, "timestamp", 0) / 1000
                self.committed_at[(item.envelope.subject, item.envelope.caseversion or 0)] = (
                    at,
                    sent,
                    began,
                )
        return outcome


async def end_to_end_lag(
    database_url: str, read_model_url: str, bootstrap: str, rate: int, seconds: float
) -> dict[str, Any]:
    topic = f"bench-{uuid.uuid4().hex[:8]}.case-events.v1"
    engine = await read_model_engine(read_model_url)
    external = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    consumer = TimedConsumer(
        ConsumerConfig(
            name="bench-lag",
            topics=[topic],
            bootstrap_servers=bootstrap,
            session_timeout_ms=6000 if external else 1000,
            heartbeat_interval_ms=1000 if external else 200,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        ),
        engine,
        summary,
        batch_handler=summary_batch,
    )
    consumer.committed_at, consumer.batches = {}, []
    stop = asyncio.Event()
    out_file = Path(tempfile.mkstemp(prefix="writer-", suffix=".json")[1])
    n_cases = max(200, rate * 2)  # one event per case per ~2 s
    CaseApplication(settings_for(database_url)).close()  # the tables, before two processes race
    with relay_process(database_url, bootstrap, topic):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--role",
            "writer",
            "--database-url",
            database_url,
            "--cases",
            str(n_cases),
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
            "--out",
            str(out_file),
        )
        # Subscribe once the relay has created the topic (its first publish: the openings);
        # the writer waits before its measured phase, time enough to join the group.
        app = CaseApplication(settings_for(database_url))
        try:
            deadline = time.monotonic() + 120
            while not await asyncio.to_thread(relay_position, app):
                if time.monotonic() > deadline or proc.returncode is not None:
                    raise RuntimeError("the relay published nothing (see /tmp/relay-*.log)")
                await asyncio.sleep(0.05)
        finally:
            app.close()
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.wait_for(consumer.ready.wait(), 30)
        await proc.wait()
        assert proc.returncode == 0
        written = json.loads(out_file.read_text())
        committed = written["committed"]
        deadline = time.monotonic() + 60
        while not all((c, v) in consumer.committed_at for c, v, _ in committed[-200:]):
            if time.monotonic() > deadline or task.done():
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        stop.set()
        await task
    await engine.dispose()
    seen = [
        (consumer.committed_at[(c, v)], at)
        for c, v, at in committed
        if (c, v) in consumer.committed_at
    ]
    lags = [done - at for (done, _, _), at in seen]
    to_relay = [sent - at for (_, sent, _), at in seen]
    to_consumer = [done - sent for (done, sent, _), _ in seen]
    fetched = [began - sent for (_, sent, began), _ in seen]
    first = min(at for _, _, at in committed)
    applies = [done - began for began, done, _ in consumer.batches if began >= first]
    missing = len(committed) - len(lags)
    return {
        "target_rate": rate,
        "achieved_rate": round(written["achieved_rate"], 1),
        "seconds": seconds,
        "events": len(committed),
        "not_seen": missing,
        "p50_ms": round(percentile(lags, 0.50) * 1000, 1),
        "p99_ms": round(percentile(lags, 0.99) * 1000, 1),
        "max_ms": round(max(lags) * 1000, 1),
        "commit_to_relay_send_p50_ms": round(percentile(to_relay, 0.50) * 1000, 1),
        "commit_to_relay_send_p99_ms": round(percentile(to_relay, 0.99) * 1000, 1),
        "send_to_consumer_commit_p50_ms": round(percentile(to_consumer, 0.50) * 1000, 1),
        "send_to_consumer_commit_p99_ms": round(percentile(to_consumer, 0.99) * 1000, 1),
        "send_to_batch_start_p50_ms": round(percentile(fetched, 0.50) * 1000, 1),
        "send_to_batch_start_p99_ms": round(percentile(fetched, 0.99) * 1000, 1),
        "batch_apply_p50_ms": round(percentile(applies, 0.50) * 1000, 1),
        "batch_apply_p99_ms": round(percentile(applies, 0.99) * 1000, 1),
        "batch_records_mean": round(
            sum(n for *_, n in consumer.batches) / len(consumer.batches), 1
        ),
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
    }


# --- main ------------------------------------------------------------------------------------


def fresh(admin: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    create_database(admin, name)
    return with_database(admin, name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller, for a smoke run")
    parser.add_argument("--role", default="main", choices=["main", "writer"])
    parser.add_argument("--database-url")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out")
    parser.add_argument("--skip", default="", help="comma-separated: ceiling,relay,rebuild,lag")
    args = parser.parse_args()
    if args.role == "writer":
        writer(args.database_url, args.cases, args.rate, args.seconds, Path(args.out))
        return
    quick = args.quick
    skip = set(filter(None, args.skip.split(",")))
    backlog = 20_000 if quick else 200_000
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "cpus": os.cpu_count(),
        "quick": quick,
    }
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("DATABASE_URL"):
            admin = os.environ["DATABASE_URL"]
        else:
            server = stack.enter_context(EmbeddedPostgres(Path(tmp) / "pg"))
            admin = server.url()
            global POSTMASTER  # the meters read it; one server per run
            pid_file = server.data_dir / "postmaster.pid"
            POSTMASTER = psutil.Process(int(pid_file.read_text().split()[0]))
        if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        else:
            bootstrap = stack.enter_context(EmbeddedBroker()).bootstrap_servers

        store = fresh(admin, "bench_relay")
        results["seed"] = seed_backlog(store, backlog)
        print("seeded:", results["seed"], flush=True)

        if "ceiling" not in skip:
            values = [e.to_json() for e in sample_envelopes(store, CHUNK)]
            topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
            produced = asyncio.run(raw_produce(bootstrap, topic, values, backlog))
            consumed = asyncio.run(raw_consume(bootstrap, f"{topic}.all_in_flight", backlog))
            results["ceiling"] = {
                "produce": produced,
                "consume": consumed,
            }
            print("ceiling (aiokafka alone):", results["ceiling"], flush=True)

        if "relay" not in skip:
            results["relay_catch_up"] = relay_catch_up(store, bootstrap)
            print("relay catch-up:", results["relay_catch_up"], flush=True)
            relayed = asyncio.run(
                raw_consume(bootstrap, results["relay_catch_up"]["topic"], backlog)
            )
            results["relay_catch_up"]["topic_consume_per_second"] = relayed["per_second"]

        if "rebuild" not in skip:
            with case_service(store) as (base, pid):
                results["rebuild"] = asyncio.run(
                    rebuild_rates(
                        base,
                        pid,
                        fresh(admin, "bench_rm"),
                        fresh(admin, "bench_legal"),
                        fresh(admin, "bench_contact"),
                        page_size=10_000,
                    )
                )
            print("rebuild from the feed:", results["rebuild"], flush=True)

        if "lag" not in skip:
            results["end_to_end_lag"] = asyncio.run(
                end_to_end_lag(
                    fresh(admin, "bench_lag"),
                    fresh(admin, "bench_lag_rm"),
                    bootstrap,
                    rate=1000,
                    seconds=10 if quick else 60,
                )
            )
            print("end-to-end lag:", results["end_to_end_lag"], flush=True)

    results["load_average"] = os.getloadavg()
    report(results)
    out = REPO / "bench" / "results" / ("relay_quick.json" if quick else "relay.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(REPO)}")


def _ratio(value: float, yardstick: float) -> str:
    return f"{value / yardstick:.2f}x" if yardstick else "-"


def report(results: dict[str, Any]) -> None:
    """Each figure beside its yardstick from the same run, and the ratio (issue 14)."""
    ceiling = results.get("ceiling", {})
    produce = ceiling.get("produce", {})
    consume = ceiling.get("consume", {}).get("per_second", 0)
    rows: list[tuple[str, str, str, str, str]] = []
    if "relay_catch_up" in results:
        relay = results["relay_catch_up"]
        rate = relay["per_second"]
        awaited = produce.get("awaited_batches", 0)
        batches = produce.get("awaited_record_batches", 0)
        rows.append(
            (
                f"relay catch-up, {relay['backlog']:,} events",
                f"{rate:,}/s",
                f"produce ceiling, awaited batches of {CHUNK:,}: {awaited:,}/s",
                _ratio(rate, awaited),
                ">= 0.75x",
            )
        )
        rows.append(
            (
                "  (same, against whole record batches)",
                f"{rate:,}/s",
                f"aiokafka record batches, awaited: {batches:,}/s",
                _ratio(rate, batches),
                "-",
            )
        )
    if "rebuild" in results:
        rb = results["rebuild"]
        for label, key in (
            ("rebuild, legal-service read model", "legal_read_model"),
            ("rebuild, contact-service read models", "contact_read_model"),
            ("rebuild, summary model (batched)", "summary_read_model"),
            ("rebuild, null handler", "null_handler"),
        ):
            if key in rb:
                rate = rb[key]["per_second"]
                cpu = rb[key].get("consumer_cpu_us_per_event")
                served = rb[key].get("case_service_cpu_us_per_event")
                database = rb[key].get("postgres_cpu_us_per_event")
                cpus = f" ({cpu}+{served} us)" if cpu is not None else ""
                if cpu is not None and database is not None:
                    cpus = f" ({cpu}+{served}+{database} us)"
                target = ">= 0.25x" if key in ("legal_read_model", "contact_read_model") else "-"
                rows.append(
                    (
                        label,
                        f"{rate:,}/s{cpus}",
                        f"consume ceiling: {consume:,}/s",
                        _ratio(rate, consume),
                        target,
                    )
                )
        feed = rb["feed_only_per_second"]
        rows.append(
            (
                "  the feed alone",
                f"{feed:,}/s",
                f"consume ceiling: {consume:,}/s",
                _ratio(feed, consume),
                "-",
            )
        )
    if "end_to_end_lag" in results:
        lag = results["end_to_end_lag"]
        rows.append(
            (
                f"end-to-end lag, {lag['target_rate']:,} events/s for {lag['seconds']:g} s",
                f"p99 {lag['p99_ms']} ms (p50 {lag['p50_ms']})",
                "250 ms",
                _ratio(lag["p99_ms"], 250),
                "< 1.00x",
            )
        )
        rows.append(
            (
                "  the writer's rate",
                f"{lag['achieved_rate']:,}/s",
                f"asked {lag['target_rate']:,}/s",
                _ratio(lag["achieved_rate"], lag["target_rate"]),
                ">= 1.00x",
            )
        )
    print()
    print(f"{'figure':42} {'measured':26} {'yardstick (same run)':52} {'ratio':7} target")
    for row in rows:
        print(f"{row[0]:42} {row[1]:26} {row[2]:52} {row[3]:7} {row[4]}")
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
