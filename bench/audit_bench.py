"""The cost of the hash chain on case-service's write path: the same writes with it on and off.

    uv run --frozen python bench/audit_bench.py [--quick]

One embedded PostgreSQL (durable settings); case-service's application in this process, so
the figures are the write path itself (no HTTP in front to dilute the difference):
  (a) the daily-file shape: one missed payment for each of N cases per round, through the
      batching writer (`execute_all`, 2,000 commands a transaction);
  (b) the request shape: 16 threads each sending one command at a time (the writer batches
      whatever queues up), for a few seconds;
  (c) the checkpointer: chain hashes taken in and signed, per second.
"Off" is the same recorder with the chain step skipped. Runs alternate on/off and each
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
from collections.abc import Sequence
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
from case_service.settings import CaseServiceSettings, eventsourcing_env
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

REPO = Path(__file__).resolve().parent.parent
CIPHER_KEY = base64.b64encode(os.urandom(32)).decode()
NOW = datetime.now(UTC)


class UnchainedRecorder(CaseEventRecorder):
    """The recorder without the chain step: the "off" side of the comparison."""

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return PostgresApplicationRecorder._fetch_ids_after_insert_events(
            self, curs, stored_events, **kwargs
        )


def app_for(url: str, chained: bool) -> CaseApplication:
    def env(settings: CaseServiceSettings) -> dict[str, str]:
        found = eventsourcing_env(settings)
        if not chained:
            found["APPLICATION_RECORDER_TOPIC"] = "__main__:UnchainedRecorder"
        return found

    application_module.eventsourcing_env = env  # type: ignore[assignment]
    settings = CaseServiceSettings(database_url=url, cipher_key=CIPHER_KEY, jwt_secret="x" * 40)
    return CaseApplication(settings, clock=ManualClock(NOW))


def open_cases(app: CaseApplication, n: int) -> list[UUID]:
    ids = []
    for i in range(n):
        case, _ = app.open_case(
            loan_id=f"L-{i}",
            product="consumer_loan",
            currency="CNY",
            principal="100000.00",
            borrower={
                "id": f"B-{i}",
                "name": "Li Wei",
                "timezone": "Asia/Shanghai",
                "address": "1 Renmin Road",
                "phones": [],
            },
            guarantors=[],
            collateral=None,
        )
        ids.append(case.id)
    return ids


def missed(installment: int) -> Any:
    due = date(2010, 1, 1) + timedelta(days=30 * installment)  # all in the past

    def action(case: CollectionCase) -> None:
        case.record_missed_payment(
            installment=installment, due_date=due, amount=Decimal("1200.00"), now=NOW
        )

    return action


def daily_file(app: CaseApplication, ids: list[UUID], installment: int) -> float:
    started = time.perf_counter()
    outcomes = app.execute_all([Command(i, missed(installment)) for i in ids])
    elapsed = time.perf_counter() - started
    assert all(o.error is None and o.events for o in outcomes)
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
    best: dict[str, dict[str, float]] = {"on": {}, "off": {}}
    with (
        tempfile.TemporaryDirectory(prefix="arrears-bench-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pg") as pg,
    ):
        apps, ids = {}, {}
        for side in ("on", "off"):
            pg.create_database(f"bench_{side}")
            apps[side] = app_for(pg.url(f"bench_{side}"), chained=side == "on")
            ids[side] = open_cases(apps[side], n)
        try:
            installment = 1
            for r in range(rounds):
                for side in ("on", "off") if r % 2 == 0 else ("off", "on"):
                    rate = daily_file(apps[side], ids[side], installment)
                    best[side]["daily_file_commands_per_s"] = max(
                        best[side].get("daily_file_commands_per_s", 0), rate
                    )
                installment += 1
            for side in ("on", "off"):
                rate = requests(apps[side], ids[side], rounds + 1, seconds)
                best[side]["request_commands_per_s"] = rate
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
    for figure in ("daily_file_commands_per_s", "request_commands_per_s"):
        on, off = best["on"][figure], best["off"][figure]
        results[f"{figure}_cost"] = 1 - on / off
        print(
            f"{figure}: chain on {on:,.0f}, off {off:,.0f}: cost {100 * (1 - on / off):.1f}% (target < 15%)"
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
