"""The console's pages, timed beside the same pages' API calls alone.

    uv run --frozen python bench/console_bench.py [--cases 100000] [--events 1000]
        [--api-cases 2000] [--requests 200]

One run starts the whole embedded system as processes (tests/e2e/system.py, with the console)
and seeds it:
  - `--api-cases` delinquent cases through the services' APIs: opened with `POST /v1/cases`
    (16 clients at once), one missed installment each through the daily batch
    (`POST /v1/missed-payments:batch`), the first case given `--events` events in all (more
    missed installments), the daily aging run, a promise to pay on one case in 20
    (contact-service's `POST /v1/cases/{id}/promises`); contact-service learns them from
    Kafka as in production, and the bench waits until it has;
  - then contact-service's read model (cs_cases, cs_contact_points, cs_outcomes,
    cs_promises) is filled up to `--cases` open cases by copying, in SQL, the rows it
    projected for those cases under new case ids. The queue and the dashboard read nothing
    but that read model, so they see `--cases` cases; the case screen's case is a real one.
Then it times, one request at a time, each page beside the same page's API calls alone (made
one after another with a supervisor's token):
  - /queue (25 rows)   beside contact-service's GET /v1/queues/all?limit=25;
  - /cases/{id} of the big case beside case-service's GET /v1/cases/{id}?installments=false,
                       the contact view and the guard's batch answer;
  - /dashboard         beside contact-service's KPIs, three promise lists, the blocked cases
                       and the agency placements.
The console's figure is its server time as the client sees it on loopback: the page's own
work (session, rendering) plus its calls. Results go to bench/results/console.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from arrears.auth import issue_token
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from e2e.system import JWT_SECRET, System, running_system, wait_until  # noqa: E402

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: Callable[[], Any], n: int) -> dict[str, float]:
    call()  # warm
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        seconds.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(statistics.median(seconds), 1),
        "p99_ms": round(percentile(seconds, 0.99), 1),
    }


OPENERS = 16  # concurrent clients opening cases (case-service batches their writes)
PROMISE_EVERY = 20  # one case in this many gets a promise to pay (the dashboard lists them)
# The queue holds only cases whose borrower's local time permits a call: the cases live in
# the zone where it is nearest mid-afternoon when the bench starts.
ZONES = (
    "Asia/Shanghai", "Asia/Tokyo", "Pacific/Auckland", "Asia/Kolkata", "Asia/Dubai",
    "Europe/Berlin", "Europe/London", "America/Sao_Paulo", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu",
)  # fmt: skip


def awake_zone() -> str:
    now = datetime.now(UTC)

    def distance(zone: str) -> float:
        local = now.astimezone(ZoneInfo(zone))
        return abs(local.hour + local.minute / 60 - 14.5)

    return min(ZONES, key=distance)


CHUNK = 5_000  # missed installments per daily-batch request


def _open_body(n: int, zone: str) -> dict[str, Any]:
    return {
        "loan_id": f"BENCH-{n:06d}",
        "product": "consumer_loan",
        "currency": "CNY",
        "principal": "50000.00",
        "borrower": {
            "id": f"B-{n}",
            "name": "Bench",
            "timezone": zone,
            "phones": [{"number": f"+86138{n:08d}", "kind": "mobile", "owner": "borrower"}],
        },
    }


def seed(system: System, cases: int, events: int) -> str:
    """Open `cases` cases through case-service's API (OPENERS clients at once), record one
    missed installment each through the daily batch (`POST /v1/missed-payments:batch`, CHUNK
    items a request), give the first case `events` events in all (more missed installments),
    run the daily aging, make a promise to pay on one case in PROMISE_EVERY (contact-service's
    API), and wait until contact-service's read model holds them all (it learns them from
    Kafka, as in production): nothing is written around the services."""
    started = time.monotonic()
    zone = awake_zone()
    due = (date.today() - timedelta(days=40)).isoformat()
    clients = [system.client("case-service", "origination") for _ in range(OPENERS)]

    def open_range(k: int) -> list[str]:
        client = clients[k]
        return [
            client.post("/v1/cases", json=_open_body(n, zone)).raise_for_status().json()["case_id"]
            for n in range(k, cases, OPENERS)
        ]

    with ThreadPoolExecutor(OPENERS) as pool:
        opened = list(pool.map(open_range, range(OPENERS)))
    ids = [opened[n % OPENERS][n // OPENERS] for n in range(cases)]
    print(f"opened {cases} cases in {time.monotonic() - started:.0f} s", file=sys.stderr)
    origination = clients[0]
    origination.timeout = httpx.Timeout(600)
    items = [{"case_id": i, "installment": 1, "due_date": due, "amount": "1000.00"} for i in ids]
    big = ids[0]
    items += [
        {"case_id": big, "installment": k, "due_date": due, "amount": "10.00"}
        for k in range(2, events)
    ]
    for at in range(0, len(items), CHUNK):
        reply = origination.post(
            "/v1/missed-payments:batch", json={"items": items[at : at + CHUNK]}
        )
        reply.raise_for_status()
    print(f"missed payments in {time.monotonic() - started:.0f} s", file=sys.stderr)
    with system.client("case-service", "service") as service:
        service.timeout = httpx.Timeout(1800)
        service.post("/v1/aging-runs", json={}).raise_for_status()
    print(f"aged in {time.monotonic() - started:.0f} s", file=sys.stderr)
    for client in clients:
        client.close()
    reader = system.client("contact-service", "supervisor")
    promised = ids[1::PROMISE_EVERY]
    with system.client("contact-service", "collector") as collector:
        for n, case_id in enumerate(promised):
            # contact-service must know the case (it learns it from Kafka) to take a promise.
            view = f"/v1/cases/{case_id}/contact-view"
            wait_until(lambda v=view: reader.get(v).status_code == 200, 3600)
            day = date.today() + timedelta(days=1 + n % 7)  # due within the week
            body = {"amount": "500.00", "promised_date": day.isoformat()}
            reply = collector.post(f"/v1/cases/{case_id}/promises", json=body)
            if reply.status_code >= 400:
                raise RuntimeError(f"promise refused: {reply.status_code} {reply.text}")

    def projected() -> bool:
        last = reader.get(f"/v1/cases/{ids[-1]}/contact-view")
        first = reader.get(f"/v1/cases/{big}/contact-view")
        promise = reader.get(f"/v1/cases/{promised[-1]}/contact-view") if promised else last
        return (
            last.status_code == 200
            and last.json()["days_past_due"] > 0
            and first.status_code == 200
            and first.json()["version"] >= events
            and promise.json().get("open_promise") is not None
        ) or (not promised and last.status_code == 200 and last.json()["days_past_due"] > 0)

    wait_until(projected, timeout=3600, interval=2)
    print(f"projected in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return big


# contact-service's read-model tables keyed by case (what the queue and the dashboard read).
CLONED = ("cs_cases", "cs_contact_points", "cs_outcomes", "cs_promises")


def clone_read_model(system: System, big: str, total: int) -> None:
    """Fill contact-service's read model up to `total` open cases by copying the rows it
    projected for the cases seeded through the APIs (each copy a new case id and loan id; the
    big case is not copied). Only the queue and the dashboard see the copies: both read
    nothing but this read model; case-service and the big case's screen are untouched."""
    started = time.monotonic()
    with psycopg.connect(system.databases["contact"], autocommit=True) as conn:
        seeded = conn.execute("SELECT count(*) FROM cs_cases").fetchone()
        have = int(seeded[0]) if seeded else 0
        extra = total - have
        if extra <= 0 or have < 2:
            return
        copies = -(-extra // (have - 1))
        conn.execute(
            "CREATE TEMP TABLE clone_map AS SELECT t.case_id AS template, "
            "md5(t.case_id || ':' || g)::uuid::text AS case_id, g "
            "FROM cs_cases t CROSS JOIN generate_series(1, %s) g WHERE t.case_id <> %s "
            "ORDER BY g, t.case_id LIMIT %s",
            (copies, big, extra),
        )
        for table in CLONED:
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s AND table_schema = current_schema() "
                    "ORDER BY ordinal_position",
                    (table,),
                )
            ]
            values = {
                "case_id": "m.case_id",
                "loan_id": "t.loan_id || '-' || m.g",
                "promise_id": "md5(t.promise_id || m.case_id)::uuid::text",
            }
            picked = ", ".join(values.get(c, f"t.{c}") for c in columns)
            conn.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {picked} "
                f"FROM {table} t JOIN clone_map m ON m.template = t.case_id"
            )
            conn.execute(f"ANALYZE {table}")
    print(
        f"read model filled to {total} cases in {time.monotonic() - started:.0f} s", file=sys.stderr
    )


def signed_in(system: System, username: str) -> httpx.Client:
    client = httpx.Client(base_url=system.url("console"), timeout=30)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post(
        "/login",
        data={
            "username": username,
            "password": system.demo_users[username],
            "csrf_token": token.group(1),
        },
    )
    return client


def measure(system: System, big: str, n: int) -> dict[str, Any]:
    collector = signed_in(system, "collector1")
    supervisor = signed_in(system, "supervisor1")
    bearer = {
        "Authorization": "Bearer "
        + issue_token(JWT_SECRET, "supervisor", "bench", timedelta(hours=1))
    }
    case_api = httpx.Client(base_url=system.url("case-service"), headers=bearer, timeout=30)
    contact_api = httpx.Client(base_url=system.url("contact-service"), headers=bearer, timeout=30)
    phone = case_api.get(f"/v1/cases/{big}").json()["borrower"]["phones"][0]["number"]

    def case_calls() -> None:
        # As the page asks: the case without its instalment schedule, the contact view, the
        # guard's answer for the numbers (here one after another; the page asks the first two
        # at once).
        case_api.get(f"/v1/cases/{big}", params={"installments": "false"}).raise_for_status()
        contact_api.get(f"/v1/cases/{big}/contact-view").raise_for_status()
        ask = {"case_id": big, "channel": "call", "contact_point": phone}
        contact_api.post("/v1/contact-permissions:batch", json={"requests": [ask]})

    today = date.today()
    dashboard_queries: tuple[tuple[str, dict[str, Any]], ...] = (
        ("/v1/kpis", {}),
        ("/v1/promises", {"status": "open", "due_from": today, "due_to": today}),
        (
            "/v1/promises",
            {"status": "open", "due_from": today + timedelta(1), "due_to": today + timedelta(7)},
        ),
        ("/v1/promises", {"status": "broken", "resolved_on": today - timedelta(1)}),
        ("/v1/blocked-cases", {}),
        ("/v1/agency-placements", {}),
    )

    def dashboard_calls() -> None:
        # The page's six calls (it asks them at once; here one after another).
        for path, query in dashboard_queries:
            contact_api.get(path, params={k: str(v) for k, v in query.items()}).raise_for_status()

    def ok(client: httpx.Client, path: str) -> Callable[[], Any]:
        return lambda: client.get(path).raise_for_status()

    return {
        "queue": {
            "page": timed(ok(collector, "/queue"), n),
            "api": timed(ok(contact_api, "/v1/queues/all?limit=25"), n),
        },
        "case_screen": {
            "page": timed(ok(collector, f"/cases/{big}"), n),
            "api": timed(case_calls, n),
        },
        "dashboard": {
            "page": timed(ok(supervisor, "/dashboard"), n),
            "api": timed(dashboard_calls, n),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="open cases in all")
    parser.add_argument("--events", type=int, default=1_000, help="events in the big case")
    parser.add_argument(
        "--api-cases",
        type=int,
        default=2_000,
        help="cases seeded through the services' APIs; contact-service's read model is then "
        "filled up to --cases by copying their rows (give --api-cases = --cases for none)",
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    args = parser.parse_args()
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="console-bench-"))
    postgres = EmbeddedPostgres(root / "pg", free_port(), durable=False)
    postgres.start()
    broker = EmbeddedBroker(log_path=root / "broker.log")
    broker.start()
    try:
        env = {"KAFKA_SESSION_TIMEOUT_MS": "1000", "KAFKA_HEARTBEAT_INTERVAL_MS": "200"}
        with running_system(
            postgres.url("postgres"), broker.bootstrap_servers, root / "logs", env, console=True
        ) as system:
            big = seed(system, min(args.api_cases, args.cases), args.events)
            clone_read_model(system, big, args.cases)
            load_measure = os.getloadavg()
            figures = measure(system, big, args.requests)
    finally:
        broker.stop()
        postgres.stop()
    report = {
        "cases": args.cases,
        "cases_through_the_apis": min(args.api_cases, args.cases),
        "events_in_case": args.events,
        "requests": args.requests,
        "load_average_at_start": [round(x, 2) for x in load_before],
        "load_average_when_measuring": [round(x, 2) for x in load_measure],
        **figures,
    }
    print(json.dumps(report, indent=2))
    print("\npage          page p50 / p99 ms    its API calls alone p50 / p99 ms")
    for name in ("queue", "case_screen", "dashboard"):
        page, api = report[name]["page"], report[name]["api"]
        print(
            f"{name:<13} {page['p50_ms']:>7} / {page['p99_ms']:<10} "
            f"{api['p50_ms']:>7} / {api['p99_ms']}"
        )
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "console.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
