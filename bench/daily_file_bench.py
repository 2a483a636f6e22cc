"""The daily file: CPU per item of the bulk path (in the server process, and with two worker
processes) against the command writer (one command per item, the old route), on the same
cases, in one process with its own embedded PostgreSQL; the chain and sealing on.

    uv run --frozen python bench/daily_file_bench.py [--cases 2000]
    uv run --frozen python bench/daily_file_bench.py --endpoint [--runs 1]

Each path runs twice, in turn, each file 5 new installments per case. The bulk path keeps
the cases it prepared warm (daily_file/warm.py): its first file here finds them cold (the
seed) and its second brings them up to date with what the other paths wrote meanwhile.
CPU per item is given for this process, the worker processes and PostgreSQL (its server
and backends): a companion to section (c) of case_service_bench.py, and what to compare on
a shared machine, where wall-clock rates swing with the load.

`--endpoint` runs only section (c) of case_service_bench.py --quick (its COPY ceiling, then a
fresh server and its first, cold file over HTTP; the same functions), `--runs` times, each on
a fresh PostgreSQL: to compare two trees run after run without the other sections' minutes.
With `--cases 20000` it is section (c) of the full `make bench` (ten files of 10,000 items,
each naming 10,000 cases once; the first two find their cases cold). `--by-file` prints
each file's rate and CPU per item (the server process, its workers, PostgreSQL): a file of
cases read cold and one of cases kept warm cost apart, and it is the difference between
them and a cost per case that the run's average hides.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("MIGRATE_ON_START", "true")

import case_service_bench as base
from arrears.auth import issue_token
from arrears_dev.embedded.postgres import EmbeddedPostgres
from case_service.application import CaseApplication
from case_service.daily_file import MissedInstallment, as_command
from case_service.domain import CollectionCase
from case_service.settings import CaseServiceSettings

PATHS = ("commands, one per item", "bulk, in the server process", "bulk, 2 workers")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(pg: EmbeddedPostgres) -> float:
    """The CPU of PostgreSQL's server and its backends: the append and the reads run there."""
    pid = pg._postmaster_pid()
    assert pid is not None
    main = psutil.Process(pid)
    total = 0.0
    for process in [main, *main.children()]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def items(ids: list[UUID], today: date, round_: int) -> list[MissedInstallment]:
    first = 2 + round_ * 5
    return [
        MissedInstallment(case_id, first + k, today - timedelta(days=60 - k - round_ * 5), Decimal("100.00"))
        for k in range(5)
        for case_id in ids
    ]  # fmt: skip


async def files_one_by_one(
    url: str, loans: int, server: int, postmaster: int, ceiling: float
) -> None:
    """case_service_bench.drive_batch's files (5 items per loan, 10,000 a file), each file's
    rate and CPU per item printed: the server process, its worker processes, PostgreSQL;
    then the whole run's, beside what its CPU per item allows (`base.cpu_bound`)."""
    token = issue_token(base.SECRET, "origination", "bench", timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    files = base.daily_files(loans, per_loan=5, chunk=10_000)

    def cpu() -> tuple[float, float, float]:
        process = psutil.Process(server)
        own = sum(process.cpu_times()[:2])
        return own, base.tree_cpu_seconds(server) - own, base.tree_cpu_seconds(postmaster)

    total_items, total_wall, total_cpu = 0, 0.0, 0.0
    async with aiohttp.ClientSession() as session:
        for n, body in enumerate(files):
            before, started = cpu(), time.perf_counter()
            async with session.post(
                f"{url}/v1/missed-payments:batch", data=body, headers=headers
            ) as response:
                answer = await response.json()
            wall, after = time.perf_counter() - started, cpu()
            recorded, items = answer["recorded"], answer["received"]
            server_us, workers_us, database_us = (
                1e6 * (a - b) / items for a, b in zip(after, before, strict=True)
            )
            print(
                f"  file {n}: {recorded:,} recorded, {items / wall:8,.0f} items/s; CPU per "
                f"item: server {server_us:4.1f} us, workers {workers_us:4.1f} us, "
                f"PostgreSQL {database_us:4.1f} us",
                flush=True,
            )
            total_items += items
            total_wall += wall
            total_cpu += sum(after) - sum(before)
    rate, us_per_item = total_items / total_wall, 1e6 * total_cpu / total_items
    bound = base.cpu_bound(us_per_item)
    print(
        f"  all files: {rate:,.0f} items/s (x{rate / ceiling:.3f} of COPY), {us_per_item:.1f} us "
        f"of CPU per item; {os.cpu_count()} cores busy throughout at that CPU: at most "
        f"{bound:,.0f}/s (x{bound / ceiling:.3f}); this run used {rate / bound:.0%} of it",
        flush=True,
    )


def endpoint(cases: int, by_file: bool = False) -> None:
    """Section (c) of case_service_bench.py, with its yardstick, on a fresh PostgreSQL."""
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg") as pg:
        pg.create_database("bench_floor")
        ceiling = base.copy_rows(pg.url("bench_floor"), 100_000)
        if by_file:
            print(f"COPY ceiling {ceiling:,.0f} rows/s; load {os.getloadavg()[0]:.2f}", flush=True)
            pg.create_database("bench_batch")
            base.seed_cases(pg.url("bench_batch"), cases)
            postmaster = int((Path(tmp) / "pg" / "postmaster.pid").read_text().split()[0])
            with base.case_service(pg.url("bench_batch"), 500) as url:
                base.wait_started(base._server_pids[-1])
                asyncio.run(
                    files_one_by_one(url, cases, base._server_pids[-1], postmaster, ceiling)
                )
            return
        figures = base.batch_endpoint(pg, Path(tmp) / "pg", cases)
    rate = figures["items_per_s"]
    print(
        f"(c) batch endpoint: {rate:,.0f} missed payments/s, x{rate / ceiling:.3f} of the COPY "
        f"ceiling ({ceiling:,.0f} rows/s); CPU us/item: server (with its workers) "
        f"{figures['server_cpu_us_per_item']:.1f}, PostgreSQL "
        f"{figures['postgres_cpu_us_per_item']:.1f}; {os.cpu_count()} cores busy throughout at "
        f"that CPU: at most {figures['cpu_bound_items_per_s']:,.0f}/s "
        f"(x{figures['cpu_bound_items_per_s'] / ceiling:.3f}); load {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--endpoint", action="store_true", help="section (c) only, over HTTP")
    parser.add_argument("--runs", type=int, default=1, help="with --endpoint: how many")
    parser.add_argument("--by-file", action="store_true", help="with --endpoint: each file's CPU")
    args = parser.parse_args()
    if args.endpoint:
        for _ in range(args.runs):
            endpoint(args.cases, args.by_file)
        return
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg") as pg:
        pg.create_database("daily")
        url = pg.url("daily")
        base.seed_cases(url, args.cases)
        settings = CaseServiceSettings(
            database_url=url, cipher_key=base.CIPHER_KEY, jwt_secret=base.SECRET
        )
        app = CaseApplication(settings)
        workers = app._workers
        app.start_daily_file_workers()
        while not workers.ready:
            time.sleep(0.1)
        worker_pids = [p.pid for p in workers.processes() if p.pid is not None]
        ids = [CollectionCase.id_for_loan(f"BENCH-{n}") for n in range(args.cases)]
        try:
            for round_, label in enumerate(PATHS * 2):
                file = items(ids, datetime.now(UTC).date(), round_)
                now = datetime.now(UTC)
                if label == PATHS[1]:
                    workers._ready.clear()
                elif label == PATHS[2]:
                    workers._ready.set()
                cpu, in_workers = time.process_time(), cpu_seconds(worker_pids)
                in_database = database_cpu_seconds(pg)
                started = time.perf_counter()
                if label == PATHS[0]:
                    outcomes = app.execute_all([as_command(i, now, None) for i in file])
                else:
                    outcomes = app.record_missed_installments(file, now)
                wall = time.perf_counter() - started
                server = (time.process_time() - cpu) / len(file) * 1e6
                worker = (cpu_seconds(worker_pids) - in_workers) / len(file) * 1e6
                database = (database_cpu_seconds(pg) - in_database) / len(file) * 1e6
                recorded = sum(bool(o.events) for o in outcomes)
                print(
                    f"{label:30s} {recorded:,} recorded, {len(file) / wall:8,.0f} items/s wall; "
                    f"CPU per item: server {server:4.0f} us, workers {worker:4.0f} us, "
                    f"database {database:4.0f} us"
                )
        finally:
            app.close()


if __name__ == "__main__":
    main()
