"""contact-service's rebuild alone, in this process: its CPU per event without case-service.

    uv run --frozen python bench/contact_rebuild_bench.py [--runs 3] [--cases 20000] [--spread 0]

`relay_bench.py`'s rebuild figures move with the machine's load by more than a change to the
rebuild does (case-service and PostgreSQL share the two cores with it, and with whatever else
runs). This keeps the rebuilding process's own work and leaves out the rest: the backlog of
`relay_bench.py` (each case a CaseOpened, its personal fields sealed with a key of its own
as case-service seals them, then 9 PaymentMissed), encoded once as the feed's page bodies and
served from memory (`page_body`, so the rebuild's parse and ask-ahead run as with the real
feed); the subject keys answered by an in-memory `POST /v1/subject-keys:batch`; the read
models in an embedded PostgreSQL with durable settings. Each run is
`contact_service.rebuild.rebuild_read_models` into the same database (it resets what comes
from events), printing this process's CPU per event, the wall rate, and a checksum of the
cases table (count, arrears, priorities), which must not change between trees.

`--spread S` records each event S seconds after the one before (default 0: every event at
the same moment, as `relay_bench.py`'s backlog); a real feed's moments all differ, which
anything cached by moment (a business date) does not see with 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import tempfile
import time
import uuid
from base64 import b64encode
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from arrears.clock import ManualClock
from arrears.messaging.envelope import case_event
from arrears.messaging.gaps import FeedPage, parse_page
from arrears.messaging.personal import SubjectKeyClient
from arrears_dev.embedded.postgres import EmbeddedPostgres, create_database, with_database
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text

NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
PERSONAL = ("borrower", "guarantors", "collateral")


class Backlog:
    """The events as the feed serves them, and each case's subject key."""

    def __init__(self, cases: int, spread: float = 0.0) -> None:
        self.keys: dict[str, bytes] = {}
        self.values: list[bytes] = []
        self.spread = spread
        for n in range(cases):
            self._case(n)

    def _sealed(self, value: str, key_id: str) -> dict[str, str]:
        nonce = os.urandom(12)
        enc = nonce + AESGCM(self.keys[key_id]).encrypt(nonce, value.encode(), key_id.encode())
        return {"ref": "ref-" + key_id[:8], "enc": b64encode(enc).decode(), "key_id": key_id}

    def _case(self, n: int) -> None:
        case_id, key_id = str(uuid.uuid4()), uuid.uuid4().hex
        self.keys[key_id] = AESGCM.generate_key(256)
        borrower = {
            "id": f"B-{n}",
            "name": self._sealed("Bench Borrower", key_id),
            "timezone": "Asia/Shanghai",
            "address": self._sealed("1 Bench Road", key_id),
            "phones": [
                {
                    "number": self._sealed(f"+86138{n:08d}", key_id),
                    "kind": "mobile",
                    "owner": "borrower",
                }
            ],
        }
        opened = {
            "loan_id": f"BACKLOG-{n}",
            "product": "consumer_loan",
            "currency": "CNY",
            "principal": "100000.00",
            "borrower": borrower,
            "guarantors": [],
            "collateral": None,
            "rules": {},
            "jurisdiction": None,
        }
        self._add(case_id, 1, "CaseOpened", opened, PERSONAL)
        for installment in range(1, 10):
            due = date(2025, 1, 1) + timedelta(days=installment)
            missed = {
                "installment": installment,
                "due_date": due.isoformat(),
                "amount": "1200.00",
                "currency": "CNY",
            }
            self._add(case_id, installment + 1, "PaymentMissed", missed, ())

    def _add(
        self,
        case_id: str,
        version: int,
        name: str,
        data: dict[str, object],
        personal: tuple[str, ...],
    ) -> None:
        envelope = case_event(
            case_id=case_id,
            version=version,
            sequence=len(self.values) + 1,
            event_name=name,
            occurred_at=NOW + timedelta(seconds=self.spread * len(self.values)),
            data=data,
            correlation_id=str(uuid.uuid4()),
            personal_data=personal,
        )
        self.values.append(envelope.to_json())


class MemoryFeed:
    """`FeedClient`'s two reads over the backlog: page bodies as case-service writes them."""

    def __init__(self, values: list[bytes]) -> None:
        self.values = values

    async def page_body(self, after: int, limit: int = 1000) -> bytes:
        await asyncio.sleep(0)
        chosen = self.values[after : after + limit]
        events = b",".join(chosen)
        tail = b'],"next_after":%d,"head":%d}' % (after + len(chosen), len(self.values))
        return b'{"events":[' + events + tail

    async def page(self, after: int, limit: int = 1000) -> FeedPage:
        return parse_page(await self.page_body(after, limit))


def key_transport(keys: dict[str, bytes]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        refs = json.loads(request.content)["refs"]
        found = [{"key_id": r, "key": b64encode(keys[r]).decode()} for r in refs]
        body = {"keys": found, "erased": [], "unknown": []}
        return httpx.Response(200, content=orjson.dumps(body))

    return httpx.MockTransport(answer)


async def run(url: str, cases: int, runs: int, spread: float) -> None:
    from contact_service.context import Context
    from contact_service.migrations import MIGRATIONS
    from contact_service.rebuild import rebuild_read_models
    from contact_service.settings import ContactServiceSettings

    MIGRATIONS.prepare(url, migrate=True)
    settings = ContactServiceSettings(
        database_url=url,
        jwt_secret="bench-secret-bench-secret-bench-secret",
        cipher_key=b64encode(b"k" * 32).decode(),
        case_service_url="http://case-service",
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    ctx = Context.build(settings, ManualClock(NOW))
    backlog = Backlog(cases, spread)
    feed = MemoryFeed(backlog.values)
    try:
        for turn in range(runs):
            transport = key_transport(backlog.keys)
            ctx.keys = SubjectKeyClient("http://case-service", lambda: "t", transport=transport)
            gc.collect()
            cpu, wall = time.process_time(), time.perf_counter()
            report = await rebuild_read_models(ctx, feed)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            async with ctx.engine.connect() as conn:
                check = "SELECT count(*), sum(arrears), sum(priority) FROM cs_cases"
                total = tuple((await conn.execute(text(check))).one())
            print(
                f"run {turn}: {report.events} events, {cpu / report.events * 1e6:.2f} us CPU"
                f" an event, {report.events / wall:,.0f}/s wall; cases, arrears, priorities"
                f" {total}",
                flush=True,
            )
    finally:
        await ctx.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--spread", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedPostgres(Path(tmp) / "pg") as server:
        create_database(server.url(), "contact")
        asyncio.run(run(with_database(server.url(), "contact"), args.cases, args.runs, args.spread))


if __name__ == "__main__":
    main()
