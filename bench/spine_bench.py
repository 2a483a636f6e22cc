"""The daily file's spine: its chained append alone, beside the same run's COPY ceiling.

    uv run --frozen python bench/spine_bench.py [--cases 20000] [--files 6]

The daily file endpoint (section (c) of case_service_bench.py) appends its chunks one after
another, each in one transaction under the store's insert lock (daily_file/append.py): the
file's other work (reading the body, the cases' rules, sealing) runs beside it in the
server and its workers, but nothing else appends meanwhile. So the endpoint cannot be faster
than this append alone. Here it is timed with nothing beside it: the rows the endpoint
appends (each file one new missed installment for each case, prepared in this process
first, untimed), 2,000 per chunk, in four forms of the same statement taken in a shuffled
turn, chunk by chunk, on the same table:

- chained: the endpoint's statement, byte for byte (`one_per_case_insert`);
- no hash: the previous hash read, not hashed (the read's cost);
- no read: hashed from the genesis hash, the previous one not read (the hash's cost);
- unchained: neither (the row, its two index entries, the WAL).

The forms without the chain write rows no audit would pass: this store is thrown away. Then
SHA-256 per state, this PostgreSQL's `sha256()` (its own C code: the embedded build has no
OpenSSL) against Python's hashlib (OpenSSL, which uses the CPU's SHA instructions where it
has them), as a production PostgreSQL built with OpenSSL hashes.

Wall time per row is the backend's time (it is alone), and its CPU per row is printed too.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("MIGRATE_ON_START", "true")

import case_service_bench as base
from arrears_dev.embedded.postgres import EmbeddedPostgres
from case_service.application import CaseApplication
from case_service.daily_file import MissedInstallment
from case_service.daily_file.append import ChunkAppender, Columns, one_per_case_insert
from case_service.settings import CaseServiceSettings

CHUNK = 2_000  # the endpoint's first and usual last chunk
FORMS = {  # name: (hash expression, None: the endpoint's; whether the previous hash is read)
    "chained": (None, True),
    "no hash": ("p.prev", True),
    "no read": ("sha256({genesis} || {canonical})", False),
    "unchained": ("NULL", False),
}


def appenders(app: CaseApplication) -> dict[str, ChunkAppender]:
    """An appender per form: the endpoint's, its one-per-case statement (the one a file of
    one item per case takes) swapped for the form's."""
    chain = app.recorder.chain
    forms = {}
    for name, (hash_sql, previous) in FORMS.items():
        appender = ChunkAppender(app.recorder)
        composed = None if hash_sql is None else chain.part(hash_sql)
        statement = one_per_case_insert(chain, hash_sql=composed, previous=previous)
        appender._insert_one_per_case = statement.as_string(None).encode()
        forms[name] = appender
    return forms


def append_forms(
    app: CaseApplication, postmaster: int, cases: list[UUID], files: int
) -> dict[str, list[tuple[float, float]]]:
    """Per form, the (wall, PostgreSQL CPU) seconds per row of each chunk it appended;
    `postmaster`: PostgreSQL's process id."""
    forms = appenders(app)
    timed: dict[str, list[tuple[float, float]]] = {name: [] for name in forms}
    now = datetime.now(UTC)
    for file in range(files):
        due = (now - timedelta(days=19 - file)).date()
        order = random.sample(cases, len(cases))
        names = list(forms)
        for n, start in enumerate(range(0, len(order), CHUNK)):
            if n % len(names) == 0:
                random.shuffle(names)  # each form in turn, in a new order each round
            items = [
                MissedInstallment(case_id, 2 + file, due, Decimal("1200.00"))
                for case_id in order[start : start + CHUNK]
            ]
            rows: Columns = app.prepare_missed_installments(items, now).appendable
            appender = forms[names[n % len(names)]]
            cpu_before, started = base.tree_cpu_seconds(postmaster), time.perf_counter()
            appended = appender.append_columns(rows, None)
            wall, cpu_after = time.perf_counter() - started, base.tree_cpu_seconds(postmaster)
            assert len(appended) == len(rows[0])
            timed[names[n % len(names)]].append(
                (wall / len(appended), (cpu_after - cpu_before) / len(appended))
            )
    return timed


def sha256_per_state(url: str) -> tuple[float, float, float]:
    """Mean state bytes; µs per state hashed by PostgreSQL's sha256() (net of reading the
    states) and by hashlib, over the store's states."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TEMP TABLE states AS SELECT state || decode(repeat('00', 120), 'hex') AS b "
            "FROM cases_events"  # about a canonical record's size: the state and its fields
        )
        count, size = conn.execute("SELECT count(*), avg(octet_length(b)) FROM states").fetchone()

        def best(query: str) -> float:
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                conn.execute(query).fetchone()
                runs.append(time.perf_counter() - started)
            return min(runs)

        database = best("SELECT count(sha256(b)) FROM states") - best("SELECT count(b) FROM states")
        states = [bytes(row[0]) for row in conn.execute("SELECT b FROM states LIMIT 100000")]
    started = time.perf_counter()
    for state in states:
        hashlib.sha256(state).digest()
    python = (time.perf_counter() - started) / len(states)
    return float(size), 1e6 * database / count, 1e6 * python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg") as pg:
        pg.create_database("bench_floor")
        ceiling = base.copy_rows(pg.url("bench_floor"), 100_000)
        print(f"COPY ceiling {ceiling:,.0f} rows/s; load {os.getloadavg()[0]:.2f}", flush=True)
        pg.create_database("bench_spine")
        url = pg.url("bench_spine")
        cases = base.seed_cases(url, args.cases)
        settings = CaseServiceSettings(
            database_url=url,
            cipher_key=base.CIPHER_KEY,
            jwt_secret=base.SECRET,
            daily_file_workers=0,
        )
        app = CaseApplication(settings)
        postmaster = int((Path(tmp) / "pg" / "postmaster.pid").read_text().split()[0])
        try:
            timed = append_forms(app, postmaster, cases, args.files)
        finally:
            app.close()
        print(f"appended alone, {CHUNK:,} rows a chunk (median of each form's chunks):")
        chained = statistics.median(wall for wall, _ in timed["chained"])
        for name, chunks in timed.items():
            wall = statistics.median(w for w, _ in chunks)
            cpu = statistics.mean(c for _, c in chunks)
            print(
                f"  {name:<10} {1e6 * wall:5.1f} us/row ({1 / wall:8,.0f} rows/s, "
                f"x{1 / wall / ceiling:.3f} of COPY); PostgreSQL CPU {1e6 * cpu:5.1f} us/row; "
                f"{len(chunks)} chunks; {1e6 * (chained - wall):+5.1f} us/row to chain"
            )
        size, database, python = sha256_per_state(url)
        print(
            f"SHA-256 of a {size:.0f}-byte record: PostgreSQL sha256() {database:.2f} us, "
            f"OpenSSL (hashlib, with Python's call) {python:.2f} us; load "
            f"{os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
