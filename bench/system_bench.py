"""HTTP commands through the whole running system, as `make run` runs it.

    uv run --frozen python bench/system_bench.py [--quick] [--cases 2000] [--seconds 30]

Issue 14's target 1, second half: commands from 32 clients against existing cases while the
relay publishes every event and contact-service and legal-service consume them, at least 0.2
times the same run's single-row INSERT floor. One embedded PostgreSQL (durable, as `make run`)
and one broker; case-service, its relay, contact-service and legal-service each as its own
process with their default worker counts. The floor and the COPY ceiling are measured on the
same PostgreSQL first. Cases are opened through case-service's API, each with one missed
installment from the daily batch, and the system is let settle (the relay caught up) before
the clock starts.

Besides the rate and latency it prints the CPU each process spent per command during the
drive (user + system, children included), summed: the figure `docs/capacity.md` sizes from,
independent of what else the machine runs. The relay's lag after the drive is the time it
needed to publish the last command's event. Results go to bench/results/system-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from arrears.auth import issue_token
from arrears_dev.embedded._process import spawn
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import LOOPBACK, free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres
from case_service_bench import copy_rows, insert_loop, percentile
from eventsourcing.cipher import AESCipher
from lean_client import closed_loop
from simulator_bench import (
    SECRET,
    PeakMemory,
    _postmaster_pid,
    _stop,
    head,
    relay_position,
    runnable,
    wait_healthy,
)

os.environ.setdefault("MIGRATE_ON_START", "true")
REPO = Path(__file__).resolve().parent.parent
CLIENTS = 32


def number(n: int) -> str:
    return f"+86138{n:08d}"


def open_body(n: int) -> dict[str, Any]:
    return {
        "loan_id": f"SYS-{n}",
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": "100000.00",
        "borrower": {
            "id": f"B-SYS-{n}",
            "name": "Bench Borrower",
            "timezone": "Asia/Shanghai",
            "address": "1 Bench Road",
            "phones": [{"number": number(n), "kind": "mobile", "owner": "borrower"}],
        },
    }


async def seed(base: str, count: int) -> list[str]:
    """Open `count` cases over HTTP and report one missed installment for each."""
    origination = {
        "Authorization": f"Bearer {issue_token(SECRET, 'origination', 'bench', timedelta(hours=1))}"
    }
    ids: list[str] = [""] * count
    limit = asyncio.Semaphore(CLIENTS)
    async with aiohttp.ClientSession() as session:

        async def open_one(n: int) -> None:
            async with (
                limit,
                session.post(
                    f"{base}/v1/cases", json=open_body(n), headers=origination
                ) as response,
            ):
                body = await response.json()
                if response.status not in (200, 201):
                    raise RuntimeError(f"open refused: {response.status} {body}")
                ids[n] = body["case_id"]

        await asyncio.gather(*(open_one(n) for n in range(count)))
        due = (datetime.now(UTC) - timedelta(days=20)).date().isoformat()
        items = [
            {"loan_id": f"SYS-{n}", "installment": 1, "due_date": due, "amount": "1200.00"}
            for n in range(count)
        ]
        for start in range(0, count, 1000):
            async with session.post(
                f"{base}/v1/missed-payments:batch",
                json={"items": items[start : start + 1000]},
                headers={**origination, "Idempotency-Key": f"sys-seed-{start}"},
            ) as response:
                if response.status != 200:
                    raise RuntimeError(f"batch refused: {response.status} {await response.text()}")
    return ids


async def drive(base: str, case_ids: list[str], seconds: float) -> dict[str, float]:
    """32 clients record contact attempts on random existing cases for `seconds`."""
    token = issue_token(SECRET, "collector", "bench", timedelta(hours=1))
    rng = random.Random(11)

    def attempt(n: int, seq: int) -> tuple[str, dict[str, Any], str]:
        index = rng.randrange(len(case_ids))
        body = {
            "channel": "call",
            "party": "borrower",
            "contact_point": number(index),
            "outcome": "no_answer",
            "occurred_at": datetime.now(UTC).isoformat(),
            "agent_id": f"agent-{n}",
        }
        key = f"Idempotency-Key: sys-{n}-{seq}\r\n"
        return f"/v1/cases/{case_ids[index]}/contact-attempts", body, key

    # Lean clients (bench/lean_client.py): they share the two cores with the system.
    headers = {"Authorization": f"Bearer {token}"}
    latencies, errors, elapsed = await closed_loop(base, headers, CLIENTS, seconds, attempt)
    return {
        "commands": len(latencies),
        "errors": errors,
        "commands_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def wait_relay(database_url: str, metrics_port: int, timeout: float = 600) -> float:
    """Seconds until the relay has published everything stored so far."""
    started = time.perf_counter()
    target = head(database_url)
    while relay_position(metrics_port) < target:
        if time.perf_counter() - started > timeout:
            raise RuntimeError("the relay did not catch up")
        time.sleep(0.05)
    return time.perf_counter() - started


def bytes_per_event(database_url: str) -> dict[str, float]:
    """What one stored event costs on disk, tables with their indexes and TOAST, in the
    case-service database: the figure `docs/capacity.md` sizes PostgreSQL from."""
    tables = (
        "cases_events",
        "event_correlations",
        "idempotency_keys",
        "cases_snapshots",
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        row = conn.execute("SELECT count(*) FROM cases_events").fetchone()
        events = int(row[0]) if row else 0
        sizes = {}
        for table in tables:
            found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
            if found and found[0]:
                size = conn.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()
                sizes[table] = round(int(size[0]) / max(1, events)) if size else 0
    return {"events": events, **sizes, "total": sum(sizes.values())}


def served(base: str) -> dict[str, float]:
    """Requests case-service has answered so far, by method, route and status (its /metrics)."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("http_requests_total{"):
            labels, _, value = line.rpartition(" ")
            fields = dict(
                part.split("=", 1) for part in labels[len("http_requests_total{") : -1].split(",")
            )
            name = " ".join(fields[k].strip('"') for k in ("method", "route", "status"))
            counts[name] = counts.get(name, 0.0) + float(value)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 cases, 15 s")
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    cases, seconds = (1000, 15.0) if args.quick else (args.cases, args.seconds)

    memory = PeakMemory(interval=0.25)
    memory.start()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_before": os.getloadavg()[0],
        "cases": cases,
        "seconds": seconds,
        "clients": CLIENTS,
    }
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="sysbench-") as tmp:
        root = Path(tmp)
        postgres = EmbeddedPostgres(root / "pg", free_port(), durable=True)
        stack.callback(postgres.stop)
        postgres.start()
        for name in ("arrears_case", "arrears_contact", "arrears_legal", "bench_floor"):
            postgres.create_database(name)
        floor = insert_loop(postgres.url("bench_floor"), 3000 if args.quick else 10_000)
        ceiling = copy_rows(postgres.url("bench_floor"), 100_000)
        results |= {"insert_loop_rows_per_s": floor, "copy_rows_per_s": ceiling}
        print(f"floor: single-row INSERT loop {floor:,.0f}/s; ceiling: COPY {ceiling:,.0f} rows/s")

        broker = EmbeddedBroker(free_port(), log_path=root / "broker.log")
        stack.callback(broker.stop)
        broker.start()
        if broker.pid:
            memory.watch("broker", broker.pid)
        memory.watch("postgres", _postmaster_pid(root / "pg"))
        ports = {"case": free_port(), "contact": free_port(), "legal": free_port()}
        metrics_port = free_port()
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "JWT_SECRET": SECRET,
            "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
            "HTTP_HOST": LOOPBACK,
            "CASE_SERVICE_URL": f"http://{LOOPBACK}:{ports['case']}",
            "RELAY_METRICS_PORT": str(metrics_port),
            "LOG_LEVEL": "WARNING",
        }
        specs = [
            ("case-service", "case_service", "case", "arrears_case"),
            ("case-relay", "case_service.relay", None, "arrears_case"),
            ("contact-service", "contact_service", "contact", "arrears_contact"),
            ("legal-service", "legal_service", "legal", "arrears_legal"),
        ]
        for name, module, key, db in specs:
            if not runnable(module):
                raise RuntimeError(f"{module} is not runnable")
            service_env = {**env, "SERVICE_NAME": name, "DATABASE_URL": postgres.url(db)}
            if key is not None:
                service_env["HTTP_PORT"] = str(ports[key])
            log_path = root / f"{name}.log"
            with log_path.open("ab") as log:
                process = spawn([sys.executable, "-m", module], log=log, env=service_env)
            stack.callback(_stop, process)
            memory.watch(name, process.pid)
            if key is not None:
                wait_healthy(f"http://{LOOPBACK}:{ports[key]}", process, log_path)

        base = f"http://{LOOPBACK}:{ports['case']}"
        case_ids = asyncio.run(seed(base, cases))
        settle = wait_relay(postgres.url("arrears_case"), metrics_port)
        time.sleep(3)  # the consumers' read models catch up with what the relay published
        print(f"seeded {cases:,} cases; relay settled in {settle:.1f} s")

        time.sleep(0.5)  # a fresh sample of every process's CPU
        cpu_before = {k: memory.cpu.get(k, 0.0) for k in memory.watched}
        served_before = served(base)
        figures = asyncio.run(drive(base, case_ids, seconds))
        lag = wait_relay(postgres.url("arrears_case"), metrics_port)
        time.sleep(0.5)  # one more sample of every process's CPU
        spent = {k: memory.cpu.get(k, 0.0) - cpu_before.get(k, 0.0) for k in memory.watched}
        # What else case-service answered meanwhile (the consumers' calls), per command.
        served_after = served(base)
        results["case_service_requests_per_command"] = {
            name: round((count - served_before.get(name, 0.0)) / max(1, figures["commands"]), 3)
            for name, count in sorted(served_after.items())
            if count > served_before.get(name, 0.0)
        }
        memory.done.set()
        results["bytes_per_stored_event"] = bytes_per_event(postgres.url("arrears_case"))
        per_command = {
            k: round(v / max(1, figures["commands"]) * 1000, 3) for k, v in sorted(spent.items())
        }
        results |= figures | {
            "relay_lag_after_drive_s": round(lag, 3),
            "cpu_ms_per_command": per_command,
            "cpu_ms_per_command_total": round(sum(per_command.values()), 3),
            "peak_pss_mib": {k: round(v / 2**20) for k, v in sorted(memory.peak.items())},
            "x_floor": figures["commands_per_s"] / floor,
        }
    rate = figures["commands_per_s"]
    print(
        f"commands through the running system: {rate:,.0f}/s "
        f"(x{rate / floor:.2f} of floor, target >= 0.2), p50 {figures['p50_ms']:.1f} ms, "
        f"p99 {figures['p99_ms']:.1f} ms, errors {figures['errors']}; "
        f"relay caught up {lag:.2f} s after the last command"
    )
    print(
        f"CPU per command (ms): {results['cpu_ms_per_command']} total {results['cpu_ms_per_command_total']}"
    )
    print(f"case-service requests per command: {results['case_service_requests_per_command']}")
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"system-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
