"""case-service speed, measured against the database's own floor and ceiling.

    make bench        (or: uv run python bench/case_service_bench.py [--quick])

One run, one embedded PostgreSQL (durable settings, as `make run` uses), one case-service
process served by uvicorn, clients in this process:
  (a) floor and ceiling: a committed single-row INSERT loop, and COPY of 100,000 rows;
  (b) commands over HTTP from 32 concurrent clients against existing cases, with the
      batching writer and with batching off (a get-call-save per request, the baseline),
      timed after the server has finished starting and a warm-up drive (printed too);
  (c) the daily batch endpoint: missed payments per second, each checked by its case;
  (d) the state of a case with 1,000 events at an old version.
Figures print beside the floor and ceiling as ratios. Results go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import aiohttp
import psutil
import psycopg
from arrears.auth import issue_token
from arrears_dev.embedded.ports import free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres
from case_service.application import CaseApplication
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher
from lean_client import closed_loop

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

SECRET = "bench-secret-bench-secret-bench-secret"
CIPHER_KEY = AESCipher.create_key(num_bytes=32)
REPO = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- (a) floor and ceiling ------------------------------------------------------------------


def insert_loop(url: str, rows: int) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS floor_t (id bigserial PRIMARY KEY, payload bytea)")
        payload = os.urandom(200)
        started = time.perf_counter()
        for _ in range(rows):
            conn.execute("INSERT INTO floor_t (payload) VALUES (%s)", (payload,))
        return rows / (time.perf_counter() - started)


def copy_rows(url: str, rows: int) -> float:
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS ceiling_t (id bigint, payload bytea)")
        payload = os.urandom(200)
        started = time.perf_counter()
        with conn.cursor().copy("COPY ceiling_t (id, payload) FROM STDIN") as copy:
            for n in range(rows):
                copy.write_row((n, payload))
        conn.commit()
        return rows / (time.perf_counter() - started)


# --- the service under test ------------------------------------------------------------------

_server_pids: list[int] = []  # the case-service processes started, latest last


@contextmanager
def case_service(
    database_url: str,
    batch_max: int,
    *,
    argv: Sequence[str] = ("-m", "case_service"),
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """The service served by uvicorn in its own process, started with `python *argv` (another
    launcher may stand in for `-m case_service`), its environment updated by `extra_env`."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": SECRET,
        "CIPHER_KEY": CIPHER_KEY,
        "HTTP_PORT": str(port),
        "COMMAND_BATCH_MAX": str(batch_max),
        "LOG_LEVEL": "WARNING",
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        **(extra_env or {}),
    }
    log_path = Path(tempfile.mkstemp(prefix="case-service-", suffix=".log")[1])
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, *argv], env=env, stdout=log, stderr=log)
    _server_pids.append(proc.pid)
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
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (PostgreSQL's backends, a server's
    workers) so far; children that ended meanwhile are not counted."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def wait_started(pid: int, timeout: float = 60.0) -> None:
    """Until the server's own processes are idle: /healthz answers before the daily file's
    worker processes (DAILY_FILE_WORKERS) have started, and starting them took about 1.5 s
    of CPU during the first seconds of a drive, beside the server it measured."""
    deadline = time.monotonic() + timeout
    last, still_since = tree_cpu_seconds(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = tree_cpu_seconds(pid)
        if now - last > 0.02:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= 1.0:
            return


def seed_cases(database_url: str, count: int) -> list[UUID]:
    """Open `count` cases with one missed installment each, straight through the application."""
    settings = CaseServiceSettings(
        database_url=database_url, cipher_key=CIPHER_KEY, jwt_secret=SECRET
    )
    app = CaseApplication(settings)
    now = datetime.now(UTC)
    ids = []
    try:
        batch = []
        for n in range(count):
            case = CollectionCase.open(
                loan_id=f"BENCH-{n}",
                product="consumer_loan",
                currency="CNY",
                principal=Decimal("100000.00"),
                borrower={
                    "id": f"B-{n}",
                    "name": "Bench Borrower",
                    "timezone": "Asia/Shanghai",
                    "address": "1 Bench Road",
                    "phones": [{"number": f"+86138{n:08d}", "kind": "mobile", "owner": "borrower"}],
                },
                guarantors=[],
                collateral=None,
                now=now,
            )
            case.record_missed_payment(
                installment=1,
                due_date=(now - timedelta(days=20)).date(),
                amount=Decimal("1200.00"),
                now=now,
            )
            batch.append(case)
            ids.append(case.id)
            if len(batch) == 500:
                app.save(*batch)
                batch = []
        if batch:
            app.save(*batch)
    finally:
        app.close()
    return ids


# --- (b) commands over HTTP ------------------------------------------------------------------


async def drive_commands(
    base: str, case_ids: list[UUID], clients: int, seconds: float
) -> dict[str, float]:
    token = issue_token(SECRET, "collector", "bench", timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(7)
    drive_id = time.perf_counter()  # Idempotency-Keys unique across drives on one server

    def attempt(n: int, seq: int) -> tuple[str, dict[str, Any], str]:
        index = rng.randrange(len(case_ids))
        body = {
            "channel": "call",
            "party": "borrower",
            "contact_point": f"+86138{index:08d}",  # the case's own number (seed_cases)
            "outcome": "no_answer",
            "occurred_at": datetime.now(UTC).isoformat(),
            "agent_id": f"agent-{n}",
        }
        key = f"Idempotency-Key: bench-{n}-{seq}-{drive_id}\r\n"
        return f"/v1/cases/{case_ids[index]}/contact-attempts", body, key

    # The clients are lean (bench/lean_client.py): they share the two cores with the server.
    latencies, errors, elapsed = await closed_loop(base, headers, clients, seconds, attempt)
    return {
        "commands_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "errors": errors,
        "commands": len(latencies),
    }


# --- (c) the batch endpoint -------------------------------------------------------------------


def daily_items(loans: int, per_loan: int) -> list[dict[str, str | int]]:
    """The daily file's items: `per_loan` new installments of each seeded loan, by installment
    then loan (so a file of `loans` items names each case once)."""
    today = datetime.now(UTC).date()
    return [
        {
            "loan_id": f"BENCH-{n}",
            "installment": 2 + k,
            "due_date": (today - timedelta(days=10 - k)).isoformat(),
            "amount": "1200.00",
        }
        for k in range(per_loan)
        for n in range(loans)
    ]


def daily_files(loans: int, per_loan: int, chunk: int) -> list[bytes]:
    """The daily file's requests' bodies, `chunk` items each, as JSON: encoded before the
    clock starts, as a bank's loader sends a file it holds, so the rate is the endpoint's
    and not this client's encoding (the server sat idle while the client encoded the next
    body, 9.7 ms of CPU a file of 10,000: docs/benchmarks.md, 2026-12-06 17:13)."""
    items = daily_items(loans, per_loan)
    return [
        json.dumps({"items": items[start : start + chunk]}).encode()
        for start in range(0, len(items), chunk)
    ]


async def drive_batch(base: str, loans: int, per_loan: int, chunk: int) -> dict[str, float]:
    token = issue_token(SECRET, "origination", "bench", timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    files = daily_files(loans, per_loan, chunk)
    recorded = 0
    async with aiohttp.ClientSession() as session:
        started = time.perf_counter()
        for body in files:
            async with session.post(
                f"{base}/v1/missed-payments:batch", data=body, headers=headers
            ) as response:
                recorded += (await response.json())["recorded"]
        elapsed = time.perf_counter() - started
    items = loans * per_loan
    return {"items_per_s": items / elapsed, "items": items, "recorded": recorded}


def batch_endpoint(pg: EmbeddedPostgres, data_dir: Path, cases: int) -> dict[str, float]:
    """Section (c): a fresh server on `cases` seeded cases, whose first request is one cold
    daily file of 5 items per loan (in files of 10,000 items); the rate and the CPU per item
    of the server with its workers and of PostgreSQL (`data_dir`: its data directory)."""
    pg.create_database("bench_batch")
    url = pg.url("bench_batch")
    seed_cases(url, cases)
    with case_service(url, 500) as base:
        # As for (b): the daily file's worker processes start after /healthz answers, and
        # their start-up (about a second of CPU) is not the file's cost.
        wait_started(_server_pids[-1])
        postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        before = (tree_cpu_seconds(_server_pids[-1]), tree_cpu_seconds(postmaster))
        figures = asyncio.run(drive_batch(base, loans=cases, per_loan=5, chunk=10_000))
        after = (tree_cpu_seconds(_server_pids[-1]), tree_cpu_seconds(postmaster))
    items = max(1, figures["recorded"])
    figures["server_cpu_us_per_item"] = 1e6 * (after[0] - before[0]) / items
    figures["postgres_cpu_us_per_item"] = 1e6 * (after[1] - before[1]) / items
    figures["cpu_bound_items_per_s"] = cpu_bound(
        figures["server_cpu_us_per_item"] + figures["postgres_cpu_us_per_item"]
    )
    return figures


def cpu_bound(us_per_item: float) -> float:
    """Items per second if every core of this machine spent all its time on them, at this
    much CPU per item: what no pipelining can beat. (The bench's client, in this process,
    is left out: it is not the endpoint's.)"""
    return (os.cpu_count() or 1) * 1e6 / max(us_per_item, 1e-9)


# --- (d) an old version of a long case --------------------------------------------------------


def old_version_reads(database_url: str, events: int, reads: int) -> dict[str, float]:
    settings = CaseServiceSettings(
        database_url=database_url, cipher_key=CIPHER_KEY, jwt_secret=SECRET, aggregate_cache_size=0
    )
    app = CaseApplication(settings)
    now = datetime.now(UTC)
    try:
        case = CollectionCase.open(
            loan_id="LONG-1",
            product="consumer_loan",
            currency="CNY",
            principal=Decimal("100000.00"),
            borrower={
                "id": "B",
                "name": "Long Case",
                "timezone": "Asia/Shanghai",
                "address": "x",
                "phones": [{"number": "+8613800000000", "kind": "mobile", "owner": "borrower"}],
            },
            guarantors=[],
            collateral=None,
            now=now,
        )
        for n in range(events - 1):
            case.record_contact_attempt(
                channel="call", party="borrower", contact_point="+8613800000000",
                outcome="no_answer", occurred_at=now, agent_id="a", recording_ref=None, notes=None, now=now,
            )  # fmt: skip
            if n % 100 == 99:
                app.save(case)
        app.save(case)
        rng = random.Random(3)
        timings = []
        for _ in range(reads):
            version = rng.randint(1, events)
            started = time.perf_counter()
            state = app.case(case.id, version=version)
            state.view(now.date())
            timings.append(time.perf_counter() - started)
            assert state.version == version
    finally:
        app.close()
    return {"p50_ms": statistics.median(timings) * 1000, "p99_ms": percentile(timings, 0.99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    cases_n = 2000 if args.quick else 20_000
    seconds = 5 if args.quick else 20
    warmup = 2 if args.quick else 5
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "when": datetime.now(UTC).isoformat(),
    }
    with (
        tempfile.TemporaryDirectory(prefix="arrears-bench-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pg") as pg,
    ):
        pg.create_database("bench_floor")
        floor_url = pg.url("bench_floor")
        results["insert_loop_rows_per_s"] = insert_loop(floor_url, 3000 if args.quick else 10_000)
        results["copy_rows_per_s"] = copy_rows(floor_url, 100_000)
        floor, ceiling = results["insert_loop_rows_per_s"], results["copy_rows_per_s"]
        print(
            f"(a) floor: single-row INSERT loop {floor:,.0f} rows/s; ceiling: COPY {ceiling:,.0f} rows/s"
        )

        for label, batch_max in (("batched", 500), ("naive get-call-save", 1)):
            pg.create_database(f"bench_http_{batch_max}")
            url = pg.url(f"bench_http_{batch_max}")
            ids = seed_cases(url, cases_n)
            with case_service(url, batch_max) as base:
                wait_started(_server_pids[-1])
                # Warm-up, not measured: the same clients and commands, so the cases the
                # writer reads for the first time (a cold read each, once per process) and
                # the first requests' one-off costs are not in the steady state's figures.
                cold = asyncio.run(drive_commands(base, ids, clients=32, seconds=warmup))
                postmaster = int((Path(tmp) / "pg" / "postmaster.pid").read_text().split()[0])
                before = (
                    tree_cpu_seconds(_server_pids[-1]),
                    tree_cpu_seconds(postmaster),
                    sum(psutil.Process().cpu_times()[:2]),
                )
                figures = asyncio.run(drive_commands(base, ids, clients=32, seconds=seconds))
                after = (
                    tree_cpu_seconds(_server_pids[-1]),
                    tree_cpu_seconds(postmaster),
                    sum(psutil.Process().cpu_times()[:2]),
                )
            # CPU per command of the server, PostgreSQL and the clients (this process): steadier
            # than the rates on a busy machine, and what the rate is bounded by on a quiet one.
            server_s, postgres_s, client_s = (a - b for a, b in zip(after, before, strict=True))
            commands = max(1, figures["commands"])
            figures["server_cpu_ms_per_command"] = 1000 * server_s / commands
            figures["postgres_cpu_ms_per_command"] = 1000 * postgres_s / commands
            figures["client_cpu_ms_per_command"] = 1000 * client_s / commands
            figures["warmup"] = cold
            results[f"http_{label}"] = figures
            print(
                f"(b) HTTP commands, 32 clients, {label}: {figures['commands_per_s']:,.0f}/s "
                f"(x{figures['commands_per_s'] / floor:.2f} of floor, x{figures['commands_per_s'] / ceiling:.3f} of ceiling), "
                f"p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms, errors {figures['errors']}, "
                f"CPU ms/command: server {figures['server_cpu_ms_per_command']:.3f}, "
                f"PostgreSQL {figures['postgres_cpu_ms_per_command']:.3f}, "
                f"clients {figures['client_cpu_ms_per_command']:.3f}; "
                f"its {warmup} s warm-up before the clock: {cold['commands_per_s']:,.0f}/s, "
                f"p50 {cold['p50_ms']:.1f} ms, p99 {cold['p99_ms']:.1f} ms"
            )

        figures = batch_endpoint(pg, Path(tmp) / "pg", cases_n)
        results["batch"] = figures
        print(
            f"(c) batch endpoint: {figures['items_per_s']:,.0f} missed payments/s "
            f"(x{figures['items_per_s'] / floor:.2f} of floor, x{figures['items_per_s'] / ceiling:.3f} of ceiling), "
            f"{figures['recorded']:,} recorded; CPU us/item: server (with its workers) "
            f"{figures['server_cpu_us_per_item']:.1f}, PostgreSQL {figures['postgres_cpu_us_per_item']:.1f}; "
            f"at that CPU per item, {os.cpu_count()} cores busy throughout would allow at most "
            f"{figures['cpu_bound_items_per_s']:,.0f}/s (x{figures['cpu_bound_items_per_s'] / ceiling:.3f} of ceiling)"
        )

        pg.create_database("bench_long")
        figures = old_version_reads(pg.url("bench_long"), events=1000, reads=200)
        results["old_version"] = figures
        print(
            f"(d) state at an old version of a 1,000-event case: p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms"
        )

    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "case_service.json").write_text(json.dumps(results, indent=2))
    print(f"results written to {out / 'case_service.json'}")


if __name__ == "__main__":
    main()
