"""The cost of the hash chain and of per-subject sealing of personal data on case-service's
write path and relay: the same writes with both on and both off.

    uv run --frozen python bench/audit_bench.py [--quick] [--rounds N] [--http-rounds N]

One embedded PostgreSQL (durable settings). Two groups of shapes.

In process, the strict diagnostic: case-service's application in this process, no HTTP in
front, so each figure is the write path itself and its difference is the undiluted cost of
the two features on that shape (not what a caller sees):
  (a) daily_file: one missed payment for each of N cases per round, through the batching
      writer (`execute_all`, 2,000 commands a transaction) - the cost per command where a
      transaction carries many (the daily file's shape, less its HTTP and parsing);
  (b) requests: 16 threads each sending one command at a time (the writer batches whatever
      queues up), for a few seconds - the chain's cost when transactions are small;
  (c) the checkpointer: chain hashes taken in and signed, per second;
  (d) open_cases (CaseOpened carries the borrower's name, address and phone: one new subject
      key each) and (e) contact_attempts (number and notes sealed), both in the daily-file
      shape, 1,000 at a time in one transaction: the sealing's cost at its most visible.
      No caller sends either shape (cases are opened one per request; contact attempts
      reach case-service one per request from contact-service): an upper bound;
  (f) relay_encoding: the relay's encoding of every stored event into the envelope it
      publishes (opening the sealed fields for the relay's consumers);
  (g) mapper_cpu_only: the mapper alone, in memory: CaseOpened and ContactAttempted events
      to stored records (the CPU of the sealing step, free of the database).
  Three sides: both on; the chain alone (no subject keys: personal data then only under the
  whole-record cipher); neither (the recorder with the chain step skipped too).

Over HTTP, the write path as callers use it: case-service's server (uvicorn, one process,
its batching writer, started as bench/case_service_bench.py starts it, from
bench/audit_server.py, which applies the same two switches for "off"), 32 concurrent
lean keep-alive clients (bench/lean_client.py) each sending its next request when the last is answered, both sides'
servers up together, each shape warmed up on each side first:
  (h1) contact_attempts_http: POST /v1/cases/{id}/contact-attempts on existing cases, the
       case's own number and notes (both sealed on "on"), an Idempotency-Key each, as
       contact-service forwards them;
  (h2) missed_payments_http: POST /v1/cases/{id}/missed-payments, an Idempotency-Key each;
  (h3) open_cases_http: POST /v1/cases, the borrower's name, address and phone sealed on
       "on" (a new subject key each).
  Two sides: both on; neither. Here the difference is what the features cost a caller:
  parsing, validation, authentication and the HTTP exchange are on both sides.

Each shape runs several rounds, the sides in alternating order (in process after one round
that is not measured, as the HTTP shapes are warmed up); each figure is the median of
its rounds, both as a rate and as CPU per unit (the application - this process in process,
the server process over HTTP - and the PostgreSQL server, psutil), because on a shared
machine the rate moves with other loads while CPU per unit barely does; over HTTP the
clients share the two cores with the server, so the rate is the less telling of the two.
The target (issue 12): "on" within 15% of "off" on the write path and the relay; the verdict
("met" only if both measures are within it) is printed for every shape a caller's write takes
(the HTTP shapes, the daily file, single requests) and the relay. (d), (e) and (g) are printed
as upper bounds, without a verdict: no caller sends them.
Results go to bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import itertools
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import case_service.application as application_module
import orjson
import psutil
from arrears.auth import issue_token
from arrears.clock import ManualClock
from arrears_dev.embedded.postgres import EmbeddedPostgres
from case_service.application import CaseApplication
from case_service.audit.note import SignerKey
from case_service.audit.store import AuditStore
from case_service.checkpointer.runner import Checkpointer
from case_service.commands import Command
from case_service.domain import CollectionCase
from case_service.persistence import CaseEventRecorder
from case_service.relay import CaseEventEncoder
from case_service.settings import CaseServiceSettings, eventsourcing_env
from case_service_bench import SECRET, _server_pids, case_service, tree_cpu_seconds, wait_started
from lean_client import LeanClient

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CIPHER_KEY = base64.b64encode(os.urandom(32)).decode()
NOW = datetime.now(UTC)


class UnchainedRecorder(CaseEventRecorder):
    """The recorder without the chain step (the library's own INSERT): the "off" side."""

    chained = False


SIDES = ("on", "chain", "off")  # chain and sealing; the chain alone; neither


def order(r: int, sides: tuple[str, ...] = SIDES) -> tuple[str, ...]:
    return sides if r % 2 == 0 else sides[::-1]


def app_for(url: str, chained: bool, sealed: bool) -> CaseApplication:
    def env(settings: CaseServiceSettings) -> dict[str, str]:
        found = eventsourcing_env(settings)
        if not chained:
            found["APPLICATION_RECORDER_TOPIC"] = "__main__:UnchainedRecorder"
        return found

    application_module.eventsourcing_env = env  # type: ignore[attr-defined]
    settings = CaseServiceSettings(database_url=url, cipher_key=CIPHER_KEY, jwt_secret="x" * 40)
    app = CaseApplication(settings, clock=ManualClock(NOW))
    if not sealed:  # personal data then only under the whole-record cipher
        app.personal_mapper.keys = None
        app.recorder_.subject_keys = None
        app.subject_keys = None
    return app


def open_cases(app: CaseApplication, n: int, prefix: str = "L") -> list[UUID]:
    ids = []
    for i in range(n):
        case, _ = app.open_case(
            loan_id=f"{prefix}-{i}",
            product="consumer_loan",
            currency="CNY",
            principal="100000.00",
            borrower={
                "id": f"B-{i}",
                "name": "Li Wei",
                "timezone": "Asia/Shanghai",
                "address": "1 Renmin Road",
                "phones": [{"number": f"+86138{i:08d}", "kind": "mobile", "owner": "borrower"}],
            },
            guarantors=[],
            collateral=None,
        )
        ids.append(case.id)
    return ids


def missed(installment: int) -> Any:
    # all in the past, and within the ten years the domain accepts (installment < 110)
    due = date(2017, 1, 1) + timedelta(days=30 * installment)

    def action(case: CollectionCase) -> None:
        case.record_missed_payment(
            installment=installment, due_date=due, amount=Decimal("1200.00"), now=NOW
        )

    return action


@dataclass(frozen=True)
class Sample:
    """One run of one shape on one side: units of work, wall time, CPU seconds."""

    units: int
    wall: float
    py: float  # the application: this process, or case-service's server process (HTTP shapes)
    pg: float  # the PostgreSQL server: postmaster, backends and its background processes

    @property
    def rate(self) -> float:
        return self.units / self.wall

    @property
    def cpu_us(self) -> float:
        return 1e6 * (self.py + self.pg) / self.units


class Meter:
    """CPU of this process and of the PostgreSQL server over one run, to the nanosecond:
    /proc/<pid>/schedstat for the server's processes, the process clock for this one (the
    10 ms ticks psutil reads would be a tenth of a 1,000-command run). A backend that starts
    and ends within the run is missed; the applications keep theirs open, so none does."""

    def __init__(self, pg: EmbeddedPostgres) -> None:
        pid = int((pg.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        self._server = psutil.Process(pid)

    def _server_cpu(self) -> dict[int, float]:
        found: dict[int, float] = {}
        for proc in (self._server, *self._server.children(recursive=True)):
            try:
                ran_ns = Path(f"/proc/{proc.pid}/schedstat").read_text().split()[0]
            except (OSError, IndexError):
                continue  # ended meanwhile
            found[proc.pid] = int(ran_ns) / 1e9
        return found

    def run(self, work: Callable[[], tuple[int, float]], app_pid: int | None = None) -> Sample:
        """`work` returns (units done, wall seconds it took). The collector runs first, and
        what survives it is frozen (never scanned again): a full collection of the three
        applications' heaps would otherwise land, tens of ms at a time, in whichever run
        happened to trigger it, whatever its side.
        With `app_pid` (the HTTP shapes), the application's CPU is that server process's
        instead of this one's (which is then the clients'): user + system time of all its
        threads (the event loop, the command writer, the thread pool of the routes that are
        not async), as the kernel counts it for the process (psutil; 10 ms ticks, a few
        thousandths of a run of seconds). /proc/<pid>/schedstat, as read for PostgreSQL's
        single-threaded processes, would count the main thread alone."""
        gc.collect()
        gc.freeze()

        def app_cpu() -> float:
            return time.process_time() if app_pid is None else tree_cpu_seconds(app_pid)

        me, server = app_cpu(), self._server_cpu()
        units, wall = work()
        me_after, server_after = app_cpu(), self._server_cpu()
        pg = sum(cpu - server.get(pid, 0.0) for pid, cpu in server_after.items())
        return Sample(units, wall, me_after - me, pg)


def timed(work: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    units = work()
    return units, time.perf_counter() - started


def opening(app: CaseApplication, n: int, prefix: str) -> tuple[int, float]:
    return timed(lambda: len(open_cases(app, n, prefix)))


def attempts(app: CaseApplication, ids: list[UUID]) -> tuple[int, float]:
    def action(case: CollectionCase) -> None:
        case.record_contact_attempt(
            channel="call",
            party="borrower",
            contact_point=case.borrower["phones"][0]["number"],
            outcome="no_answer",
            occurred_at=NOW,
            notes="rang out; left no message",
            now=NOW,
        )

    def work() -> int:
        outcomes = app.execute_all([Command(i, action) for i in ids])
        assert all(o.error is None and o.events for o in outcomes), outcomes[0].error
        return len(outcomes)

    return timed(work)


def relay_encoding(app: CaseApplication) -> tuple[int, float]:
    encoder = CaseEventEncoder(app.mapper)

    def work() -> int:
        count, after = 0, 0
        while batch := app.recorder.select_notifications(start=after + 1, limit=2000):
            count += len(encoder.envelopes(batch))
            after = batch[-1].id
        return count

    return timed(work)


def sealing_cpu(app: CaseApplication, n: int) -> tuple[int, float]:
    """Stored records made per second from CaseOpened and ContactAttempted events, in memory
    (no database): the CPU the mapper step costs, free of the database's noise."""
    events: list[Any] = []
    for i in range(n):
        case = CollectionCase.open(
            loan_id=f"CPU-{i}",
            product="consumer_loan",
            currency="CNY",
            principal="100000.00",
            borrower={
                "id": f"B-{i}",
                "name": "Li Wei",
                "timezone": "Asia/Shanghai",
                "address": "1 Renmin Road",
                "phones": [{"number": f"+86138{i:08d}"}],
            },
            guarantors=[],
            collateral=None,
            now=NOW,
        )
        case.record_contact_attempt(channel="call", party="borrower",
            contact_point=f"+86138{i:08d}", outcome="no_answer", occurred_at=NOW,
            notes="rang out", now=NOW)  # fmt: skip
        events.extend(case.collect_events())
    started = time.perf_counter()
    for event in events:
        app.mapper.to_stored_event(event)
    elapsed = time.perf_counter() - started
    if app.subject_keys is not None:  # drop the keys made for cases never saved
        app.subject_keys.abandoned(
            app.subject_keys.take_pending([event.originator_id for event in events])
        )
    return len(events), elapsed


def daily_file(app: CaseApplication, ids: list[UUID], installment: int) -> tuple[int, float]:
    def work() -> int:
        outcomes = app.execute_all([Command(i, missed(installment)) for i in ids])
        assert all(o.error is None and o.events for o in outcomes), [o.error for o in outcomes][:3]
        return len(outcomes)

    return timed(work)


def requests(
    app: CaseApplication, ids: list[UUID], first: int, seconds: float
) -> tuple[int, float]:
    done = [0] * 16
    stop = time.perf_counter() + seconds

    def client(n: int) -> None:
        mine = ids[n::16]
        installment = first
        while time.perf_counter() < stop:
            for case_id in mine:
                if time.perf_counter() >= stop:
                    return
                outcome = app.execute(Command(case_id, missed(installment)))
                if outcome.error is not None:
                    raise RuntimeError(outcome.error)
                done[n] += 1
            installment += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), seconds


FIGURES = {  # figure: its unit
    "daily_file": "command",
    "requests": "command",
    "open_cases": "case",
    "contact_attempts": "attempt",
    "relay_encoding": "event",
    "mapper_cpu_only": "event",
}
# Shapes no caller sends (the docstring's (d), (e) and (g)): upper bounds of the features'
# share, shown beside the target's shapes but not judged against it.
UPPER_BOUNDS = {"open_cases", "contact_attempts", "mapper_cpu_only"}


def shapes(
    app: CaseApplication, ids: list[UUID], installment: int, prefix: str, seconds: float
) -> dict[str, Callable[[], tuple[int, float]]]:
    """One round's runs of every shape on one side, in FIGURES' order."""
    return {
        "daily_file": lambda: daily_file(app, ids, installment),
        "requests": lambda: requests(app, ids, installment + 1, seconds),
        "open_cases": lambda: opening(app, len(ids) // 4, prefix),
        "contact_attempts": lambda: attempts(app, ids),
        "relay_encoding": lambda: relay_encoding(app),
        "mapper_cpu_only": lambda: sealing_cpu(app, len(ids)),
    }


# --- the write path as callers use it: case-service's HTTP server ---------------------------

HTTP_SIDES = ("on", "off")  # the chain and sealing; neither (bench/audit_server.py's switches)
HTTP_CLIENTS = 32
HTTP_FIGURES = {  # figure: its unit
    "contact_attempts_http": "attempt",
    "missed_payments_http": "command",
    "open_cases_http": "case",
}
NOW_ISO = NOW.isoformat()
Request = Callable[[int, int], tuple[str, dict[str, Any], dict[str, str]]]
"""(client, its request's number) -> (path, JSON body, headers) of the request to POST."""


@dataclass
class HttpSide:
    """One side's server, its cases, and what its shapes have used so far."""

    base: str
    pid: int  # the server process (uvicorn, one worker: the process serving)
    ids: list[UUID]  # the cases opened before it started, case i with number +86138<i>
    tokens: dict[str, dict[str, str]]  # role: its Authorization header
    installment: int = 1  # the next missed installment number (h2)
    opened: int = 0  # cases opened over HTTP so far (h3)
    keys: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # Idempotency-Keys
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # h1's cases


def seed_http(url: str, side: str, n: int) -> list[UUID]:
    """`n` cases opened in the side's own database, written as that side writes."""
    app = app_for(url, chained=side == "on", sealed=side == "on")
    try:
        return open_cases(app, n, prefix="H")
    finally:
        app.close()


async def _drive(base: str, seconds: float, request: Request) -> tuple[int, float]:
    done, failures = 0, list[str]()

    async def client(n: int, stop_at: float) -> None:
        nonlocal done
        http = LeanClient(base, {})
        seq = 0
        try:
            while time.perf_counter() < stop_at and not failures:
                path, body, headers = request(n, seq)
                seq += 1
                extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                status, text = await http.post(path, orjson.dumps(body), extra)
                if status != 201:
                    failures.append(f"{status} from POST {path}: {text[:400]!r}")
                else:
                    done += 1
        finally:
            http.close()

    # Lean clients (bench/lean_client.py): they share the two cores with the server.
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(client(n, stop_at) for n in range(HTTP_CLIENTS)))
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(failures[0])
    return done, elapsed


def http_shapes(side: HttpSide, seconds: float) -> dict[str, Callable[[], tuple[int, float]]]:
    """One run of each HTTP shape on one side, in HTTP_FIGURES' order: 32 clients, each
    sending its next request as soon as the last is answered, for `seconds`."""
    slices = [side.ids[n::HTTP_CLIENTS] for n in range(HTTP_CLIENTS)]
    first = side.installment

    def attempt(n: int, _seq: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        # as contact-service forwards one: one attempt a request, its Idempotency-Key on it
        index = side.rng.randrange(len(side.ids))
        body = {
            "channel": "call",
            "party": "borrower",
            "contact_point": f"+86138{index:08d}",  # the case's own number (open_cases)
            "outcome": "no_answer",
            "occurred_at": NOW_ISO,
            "agent_id": f"agent-{n}",
            "notes": "rang out; left no message",
        }
        headers = {**side.tokens["collector"], "Idempotency-Key": f"k-{next(side.keys)}"}
        return f"/v1/cases/{side.ids[index]}/contact-attempts", body, headers

    def missed_payment(n: int, seq: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        # each client over its own cases, the next installment at each pass; 50.00 each, so
        # the 1,000 installments a case may have stay within its principal
        mine = slices[n]
        installment = first + seq // len(mine)
        side.installment = max(side.installment, installment + 1)
        body = {
            "installment": installment,
            "due_date": (NOW.date() - timedelta(days=1 + installment)).isoformat(),
            "amount": "50.00",
        }
        headers = {**side.tokens["origination"], "Idempotency-Key": f"k-{next(side.keys)}"}
        return f"/v1/cases/{mine[seq % len(mine)]}/missed-payments", body, headers

    def case(_n: int, _seq: int) -> tuple[str, dict[str, Any], dict[str, str]]:
        # as the origination system opens one (no Idempotency-Key: idempotent on the loan)
        side.opened += 1
        i = side.opened
        body = {
            "loan_id": f"HTTP-{i}",
            "product": "consumer_loan",
            "currency": "CNY",
            "principal": "100000.00",
            "borrower": {
                "id": f"HB-{i}",
                "name": "Li Wei",
                "timezone": "Asia/Shanghai",
                "address": "1 Renmin Road",
                "phones": [{"number": f"+86139{i:08d}", "kind": "mobile", "owner": "borrower"}],
            },
        }
        return "/v1/cases", body, side.tokens["origination"]

    def run(request: Request) -> Callable[[], tuple[int, float]]:
        return lambda: asyncio.run(_drive(side.base, seconds, request))

    return {
        "contact_attempts_http": run(attempt),
        "missed_payments_http": run(missed_payment),
        "open_cases_http": run(case),
    }


def http_runs(
    pg: EmbeddedPostgres, meter: Meter, n: int, rounds: int, seconds: float, warmup: float
) -> dict[str, dict[str, list[Sample]]]:
    """Both sides' servers, started once and kept up; each shape warmed up on each side, then
    `rounds` rounds, each running every shape on both sides back to back, in alternating
    order. Each run's CPU: the serving process and PostgreSQL's processes."""
    samples: dict[str, dict[str, list[Sample]]] = {
        side: {figure: [] for figure in HTTP_FIGURES} for side in HTTP_SIDES
    }
    tokens = {
        role: {"Authorization": f"Bearer {issue_token(SECRET, role, 'bench', timedelta(hours=2))}"}
        for role in ("collector", "origination")
    }
    batch_max = CaseServiceSettings.model_fields["command_batch_max"].default
    with ExitStack() as stack:
        sides: dict[str, HttpSide] = {}
        for side in HTTP_SIDES:
            pg.create_database(f"bench_http_{side}")
            url = pg.url(f"bench_http_{side}")
            ids = seed_http(url, side, n)
            base = stack.enter_context(
                case_service(
                    url,
                    batch_max,
                    argv=(str(BENCH / "audit_server.py"), side),
                    # the daily file's worker processes serve only the batch route
                    extra_env={"CIPHER_KEY": CIPHER_KEY, "DAILY_FILE_WORKERS": "0"},
                )
            )
            sides[side] = HttpSide(base, _server_pids[-1], ids, tokens)
        for state in sides.values():
            wait_started(state.pid)
        # Warm-up, not measured: each case's first read (and its subject key's), the first
        # requests' one-off costs; h2's pass touches every case.
        for side in HTTP_SIDES:
            for run in http_shapes(sides[side], warmup).values():
                run()
        for r in range(rounds):
            for figure in HTTP_FIGURES:
                for side in order(r, HTTP_SIDES):
                    run = http_shapes(sides[side], seconds)[figure]
                    samples[side][figure].append(meter.run(run, app_pid=sides[side].pid))
    return samples


def http_medians(runs: list[Sample]) -> dict[str, Any]:
    return {
        "rate_per_s": statistics.median(s.rate for s in runs),
        "server_us": statistics.median(1e6 * s.py / s.units for s in runs),
        "pg_us": statistics.median(1e6 * s.pg / s.units for s in runs),
        "cpu_us": statistics.median(s.cpu_us for s in runs),
        "rates": [round(s.rate, 1) for s in runs],
        "cpu_us_per_round": [round(s.cpu_us, 1) for s in runs],
        "units_per_round": [s.units for s in runs],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, help="rounds per shape (default 3 quick, 5 full)")
    parser.add_argument(
        "--http-rounds",
        type=int,
        help="rounds of the HTTP shapes (default 2 quick, 4 full; 0: none)",
    )
    args = parser.parse_args()
    n, rounds, seconds = (1000, 3, 3.0) if args.quick else (2000, 5, 5.0)
    rounds = args.rounds or rounds
    http_rounds = (2 if args.quick else 4) if args.http_rounds is None else args.http_rounds
    warmup = 2.0 if args.quick else 3.0
    if rounds > 6:
        parser.error("at most 6 rounds (the missed installments must stay within ten years)")
    samples: dict[str, dict[str, list[Sample]]] = {
        side: {figure: [] for figure in FIGURES} for side in SIDES
    }
    load_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="arrears-bench-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pg") as pg,
    ):
        meter = Meter(pg)
        apps, ids = {}, {}
        for side in SIDES:
            pg.create_database(f"bench_{side}")
            url = pg.url(f"bench_{side}")
            apps[side] = app_for(url, chained=side != "off", sealed=side == "on")
            ids[side] = open_cases(apps[side], n)
        try:
            installment = 1
            # One round first, not measured, as the HTTP shapes are warmed up: a side's first
            # pass over its cases (and the process's first of each shape) cost up to a third
            # more than the next, which with one round decided the figure.
            for side in SIDES:
                for run in shapes(apps[side], ids[side], installment, "W", 1.0).values():
                    run()
            installment += 15
            for r in range(rounds):
                for side in order(r):
                    runs = shapes(apps[side], ids[side], installment, f"O{r}", seconds)
                    for figure, run in runs.items():
                        samples[side][figure].append(meter.run(run))
                installment += 15  # the requests pass over the cases several times a round
            signer = SignerKey.from_base64("bench", base64.b64encode(bytes(32)).decode())
            checkpointer = Checkpointer(AuditStore(apps["on"].recorder_), signer, every_events=1)
            started = time.perf_counter()
            checkpointer.resume()
            checkpointer.sign()
            leaves = checkpointer.tree.size
            checkpoint_rate = leaves / (time.perf_counter() - started)
        finally:
            for app in apps.values():
                app.close()
        http = http_runs(pg, meter, n, http_rounds, seconds, warmup) if http_rounds else None
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "when": NOW.isoformat(),
        "load_average_before_after": [load_before[0], os.getloadavg()[0]],
        "cases": n,
        "rounds": rounds,
    }
    print(
        f"{rounds} rounds per shape, medians; CPU per unit = this process + PostgreSQL "
        f"(load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f})"
    )
    for figure, unit in FIGURES.items():
        med: dict[str, dict[str, Any]] = {
            side: {
                "rate_per_s": statistics.median(s.rate for s in samples[side][figure]),
                "py_us": statistics.median(1e6 * s.py / s.units for s in samples[side][figure]),
                "pg_us": statistics.median(1e6 * s.pg / s.units for s in samples[side][figure]),
                "cpu_us": statistics.median(s.cpu_us for s in samples[side][figure]),
                "rates": [round(s.rate, 1) for s in samples[side][figure]],
                "cpu_us_per_round": [round(s.cpu_us, 1) for s in samples[side][figure]],
            }
            for side in SIDES
        }
        on, chain, off = (med[side] for side in SIDES)
        results[figure] = {
            **med,
            "rate_cost": 1 - on["rate_per_s"] / off["rate_per_s"],
            "cpu_cost": on["cpu_us"] / off["cpu_us"] - 1,
            "sealing_rate_cost": 1 - on["rate_per_s"] / chain["rate_per_s"],
            "sealing_cpu_cost": on["cpu_us"] / chain["cpu_us"] - 1,
        }
        got = results[figure]
        print(
            f"{figure}: {unit}s/s on {on['rate_per_s']:,.0f} | chain {chain['rate_per_s']:,.0f}"
            f" | off {off['rate_per_s']:,.0f}: cost {100 * got['rate_cost']:.1f}%"
            f" (sealing {100 * got['sealing_rate_cost']:.1f}%)\n"
            f"    CPU us/{unit} (py+pg) on {on['py_us']:.0f}+{on['pg_us']:.0f}"
            f" | chain {chain['py_us']:.0f}+{chain['pg_us']:.0f}"
            f" | off {off['py_us']:.0f}+{off['pg_us']:.0f}: cost {100 * got['cpu_cost']:.1f}%"
            f" (sealing {100 * got['sealing_cpu_cost']:.1f}%); "
            + (
                "an upper bound, no caller's shape"
                if figure in UPPER_BOUNDS
                else f"target < 15%: {'met' if max(got['rate_cost'], got['cpu_cost']) < 0.15 else 'NOT met'}"
            )
        )
    results["checkpointer_leaves_per_s"] = checkpoint_rate
    print(
        f"checkpointer: {leaves:,} chain hashes read, tree built and signed at {checkpoint_rate:,.0f}/s"
    )
    if http is not None:
        results["http"] = {
            "clients": HTTP_CLIENTS,
            "rounds": http_rounds,
            "seconds_per_run": seconds,
            "warmup_seconds": warmup,
            "cases_before": n,
        }
        print(
            f"HTTP, case-service's server ({HTTP_CLIENTS} clients, {http_rounds} rounds of "
            f"{seconds:.0f} s a side after a {warmup:.0f} s warm-up), medians; CPU per unit = "
            f"the server process + PostgreSQL (load average now {os.getloadavg()[0]:.1f})"
        )
        for figure, unit in HTTP_FIGURES.items():
            med = {side: http_medians(http[side][figure]) for side in HTTP_SIDES}
            on, off = med["on"], med["off"]
            results[figure] = {
                **med,
                "rate_cost": 1 - on["rate_per_s"] / off["rate_per_s"],
                "cpu_cost": on["cpu_us"] / off["cpu_us"] - 1,
            }
            got = results[figure]
            print(
                f"{figure}: {unit}s/s on {on['rate_per_s']:,.0f} | off {off['rate_per_s']:,.0f}:"
                f" cost {100 * got['rate_cost']:.1f}%\n"
                f"    CPU us/{unit} (server+pg) on {on['server_us']:.0f}+{on['pg_us']:.0f}"
                f" | off {off['server_us']:.0f}+{off['pg_us']:.0f}:"
                f" cost {100 * got['cpu_cost']:.1f}%; target < 15%: "
                f"{'met' if max(got['rate_cost'], got['cpu_cost']) < 0.15 else 'NOT met'}"
            )
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(results, indent=2))
    print(f"results written to {out / 'audit.json'}")


if __name__ == "__main__":
    main()
