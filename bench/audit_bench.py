"""The cost of the hash chain and of per-subject sealing of personal data on case-service's
write path and relay: the same writes with both on and both off.

    uv run --frozen python bench/audit_bench.py [--quick]

One embedded PostgreSQL (durable settings); case-service's application in this process, so
the figures are the write path itself (no HTTP in front to dilute the difference):
  (a) the daily-file shape: one missed payment for each of N cases per round, through the
      batching writer (`execute_all`, 2,000 commands a transaction);
  (b) the request shape: 16 threads each sending one command at a time (the writer batches
      whatever queues up), for a few seconds;
  (c) the checkpointer: chain hashes taken in and signed, per second;
  (d) opening cases (CaseOpened carries the borrower's name, address and phone: one new
      subject key each) and (e) contact attempts (number and notes sealed), daily-file shape;
  (f) the relay's encoding of every stored event into the envelope it publishes;
  (g) the mapper alone, in memory: CaseOpened and ContactAttempted events to stored records.
Three sides: both on; the chain alone (no subject keys: personal data then only under the
whole-record cipher); neither (the recorder with the chain step skipped too). Runs alternate on/off and each
figure is the best of its runs. The target (issue 12): "on" within 15% of "off".
Results go to bench/results/audit.json.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import case_service.application as application_module
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

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

REPO = Path(__file__).resolve().parent.parent
CIPHER_KEY = base64.b64encode(os.urandom(32)).decode()
NOW = datetime.now(UTC)


class UnchainedRecorder(CaseEventRecorder):
    """The recorder without the chain step (the library's own INSERT): the "off" side."""

    chained = False


SIDES = ("on", "chain", "off")  # chain and sealing; the chain alone; neither


def order(r: int) -> tuple[str, ...]:
    return SIDES if r % 2 == 0 else SIDES[::-1]


def app_for(url: str, chained: bool, sealed: bool) -> CaseApplication:
    def env(settings: CaseServiceSettings) -> dict[str, str]:
        found = eventsourcing_env(settings)
        if not chained:
            found["APPLICATION_RECORDER_TOPIC"] = "__main__:UnchainedRecorder"
        return found

    application_module.eventsourcing_env = env  # type: ignore[assignment]
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
    due = date(2020, 1, 1) + timedelta(days=30 * installment)  # all in the past

    def action(case: CollectionCase) -> None:
        case.record_missed_payment(
            installment=installment, due_date=due, amount=Decimal("1200.00"), now=NOW
        )

    return action


def opening(app: CaseApplication, n: int, prefix: str) -> float:
    started = time.perf_counter()
    open_cases(app, n, prefix)
    return n / (time.perf_counter() - started)


def attempts(app: CaseApplication, ids: list[UUID]) -> float:
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

    started = time.perf_counter()
    outcomes = app.execute_all([Command(i, action) for i in ids])
    elapsed = time.perf_counter() - started
    assert all(o.error is None and o.events for o in outcomes), outcomes[0].error
    return len(ids) / elapsed


def relay_encoding(app: CaseApplication) -> float:
    encoder = CaseEventEncoder(app.mapper)
    started = time.perf_counter()
    count, after = 0, 0
    while batch := app.recorder.select_notifications(start=after + 1, limit=2000):
        count += len(encoder.envelopes(batch))
        after = batch[-1].id
    return count / (time.perf_counter() - started)


def sealing_cpu(app: CaseApplication, n: int) -> float:
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
    rate = len(events) / (time.perf_counter() - started)
    if app.subject_keys is not None:  # drop the keys made for cases never saved
        app.subject_keys.abandoned(
            app.subject_keys.take_pending([event.originator_id for event in events])
        )
    return rate


def daily_file(app: CaseApplication, ids: list[UUID], installment: int) -> float:
    started = time.perf_counter()
    outcomes = app.execute_all([Command(i, missed(installment)) for i in ids])
    elapsed = time.perf_counter() - started
    assert all(o.error is None and o.events for o in outcomes), [o.error for o in outcomes][:3]
    return len(ids) / elapsed


def requests(app: CaseApplication, ids: list[UUID], first: int, seconds: float) -> float:
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
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, rounds, seconds = (1000, 2, 3.0) if args.quick else (2000, 3, 5.0)
    best: dict[str, dict[str, float]] = {side: {} for side in SIDES}
    with (
        tempfile.TemporaryDirectory(prefix="arrears-bench-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pg") as pg,
    ):
        apps, ids = {}, {}
        for side in SIDES:
            pg.create_database(f"bench_{side}")
            url = pg.url(f"bench_{side}")
            apps[side] = app_for(url, chained=side != "off", sealed=side == "on")
            ids[side] = open_cases(apps[side], n)
        try:
            installment = 1
            for r in range(rounds):
                for side in order(r):
                    rate = daily_file(apps[side], ids[side], installment)
                    best[side]["daily_file_commands_per_s"] = max(
                        best[side].get("daily_file_commands_per_s", 0), rate
                    )
                installment += 1
            for side in SIDES:
                rate = requests(apps[side], ids[side], rounds + 1, seconds)
                best[side]["request_commands_per_s"] = rate
            for r in range(rounds):
                for side in order(r):
                    app = apps[side]
                    figures = {
                        "open_cases_per_s": opening(app, n // 4, f"O{r}"),
                        "contact_attempts_per_s": attempts(app, ids[side]),
                        "relay_events_per_s": relay_encoding(app),
                        "mapper_events_per_s_cpu_only": sealing_cpu(app, n),
                    }
                    for figure, rate in figures.items():
                        best[side][figure] = max(best[side].get(figure, 0), rate)
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
    results: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "when": NOW.isoformat(),
        "cases": n,
        **best,
    }
    for figure in best["on"]:
        on, chain, off = (best[side][figure] for side in SIDES)
        results[f"{figure}_cost"] = 1 - on / off
        results[f"{figure}_sealing_cost"] = 1 - on / chain
        print(
            f"{figure}: both on {on:,.0f}, chain only {chain:,.0f}, off {off:,.0f}: cost "
            f"{100 * (1 - on / off):.1f}% (target < 15%), of which sealing "
            f"{100 * (1 - on / chain):.1f}%"
        )
    results["checkpointer_leaves_per_s"] = checkpoint_rate
    print(
        f"checkpointer: {leaves:,} chain hashes read, tree built and signed at {checkpoint_rate:,.0f}/s"
    )
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "audit.json").write_text(json.dumps(results, indent=2))
    print(f"results written to {out / 'audit.json'}")


if __name__ == "__main__":
    main()
