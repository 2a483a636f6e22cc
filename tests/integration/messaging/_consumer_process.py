"""A consumer as its own process, for tests that kill it: `python _consumer_process.py`.

Settings come from the environment (the test passes them):
  DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS, TOPIC, CONSUMER (name and group id),
  SESSION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, MAX_BATCH,
  HANDLER_DELAY (seconds each event takes, so a batch is in hand for a while),
  HANG_AFTER (after applying this many events in this process, the next handler call
  writes MARK_FILE and hangs inside its batch's open transaction, waiting to be killed),
  TOTALS_FILE (written as JSON on a graceful stop: SIGTERM).

The read model is `rm_case_counts`: one row per case, `applied` incremented and
`last_version` set by each event, `in_order` cleared if an event ever arrives out of
order. Exactly once means `applied == last_version == the case's versions` for every case.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

from arrears.messaging import ConsumerConfig, Envelope, IdempotentConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

DDL = (
    "CREATE TABLE IF NOT EXISTS rm_case_counts ("
    " consumer text NOT NULL, case_id text NOT NULL, applied int NOT NULL,"
    " last_version int NOT NULL, in_order boolean NOT NULL,"
    " PRIMARY KEY (consumer, case_id))"
)


async def main() -> None:
    env = os.environ
    name = env["CONSUMER"]
    delay = float(env.get("HANDLER_DELAY", "0"))
    hang_after = int(env.get("HANG_AFTER", "0"))
    mark = Path(env["MARK_FILE"]) if env.get("MARK_FILE") else None
    url = env["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url, pool_size=4)
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(7201957)"))
        await conn.execute(text(DDL))
    handled = 0

    async def handle(conn: AsyncConnection, envelope: Envelope) -> None:
        nonlocal handled
        if hang_after and handled >= hang_after:
            if mark is not None:
                mark.write_text(f"{envelope.subject} {envelope.caseversion}\n")
            await asyncio.sleep(3600)  # inside the batch's transaction: killed here
        if delay:
            await asyncio.sleep(delay)
        await conn.execute(
            text(
                "INSERT INTO rm_case_counts AS r (consumer, case_id, applied, last_version,"
                " in_order) VALUES (:c, :s, 1, :v, :v = 1) ON CONFLICT (consumer, case_id)"
                " DO UPDATE SET applied = r.applied + 1, last_version = EXCLUDED.last_version,"
                " in_order = r.in_order AND r.last_version + 1 = EXCLUDED.last_version"
            ),
            {"c": name, "s": envelope.subject, "v": envelope.caseversion},
        )
        handled += 1

    consumer = IdempotentConsumer(
        ConsumerConfig(
            name=name,
            topics=[env["TOPIC"]],
            bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
            max_batch=int(env.get("MAX_BATCH", "50")),
            session_timeout_ms=int(env.get("SESSION_TIMEOUT_MS", "10000")),
            heartbeat_interval_ms=int(env.get("HEARTBEAT_INTERVAL_MS", "1000")),
        ),
        engine,
        handle,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await consumer.run(stop)
    finally:
        await engine.dispose()
    if env.get("TOTALS_FILE"):
        totals = consumer.totals
        Path(env["TOTALS_FILE"]).write_text(
            json.dumps(
                {
                    "applied": totals.applied,
                    "duplicates": totals.duplicates,
                    "failures": totals.failures,
                    "parked": len(totals.parked),
                    "gap_filled": totals.gap_filled,
                }
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
