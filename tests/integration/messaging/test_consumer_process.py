"""A consumer *process* killed with SIGKILL mid-batch while events flow: after a restart every
event is applied exactly once, in order per case."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from case_service.application import CaseApplication
from case_service.relay import RelaySettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Workload, eventually, running_relay, store_events

SCRIPT = Path(__file__).with_name("_consumer_process.py")


def consumer_env(
    settings: RelaySettings, name: str, timeouts: dict[str, int], **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "TOPIC": settings.relay_topic,
        "CONSUMER": name,
        "SESSION_TIMEOUT_MS": str(timeouts["session_timeout_ms"]),
        "HEARTBEAT_INTERVAL_MS": str(timeouts["heartbeat_interval_ms"]),
        "MAX_BATCH": "20",
        "HANDLER_DELAY": "0.005",
        **extra,
    }


def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(SCRIPT)], env=env)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL


async def counts(engine: AsyncEngine, name: str) -> dict[str, tuple[int, int, bool]]:
    """case id -> (applied, last_version, in_order), as committed."""
    async with engine.connect() as conn:
        exists = await conn.scalar(text("SELECT to_regclass('rm_case_counts') IS NOT NULL"))
        if not exists:
            return {}
        rows = await conn.execute(
            text(
                "SELECT case_id, applied, last_version, in_order FROM rm_case_counts"
                " WHERE consumer = :c"
            ),
            {"c": name},
        )
        return {r.case_id: (r.applied, r.last_version, r.in_order) for r in rows}


@contextlib.asynccontextmanager
async def commands_flowing(workload: Workload, case_ids: list[uuid.UUID]) -> AsyncIterator[None]:
    """Commands keep committing (one missed installment per case per round) until the block ends."""
    stop = asyncio.Event()

    async def drive() -> None:
        installment = 100
        while not stop.is_set():
            for case_id in case_ids:
                await asyncio.to_thread(workload.miss, case_id, installment)
            installment += 1
            await asyncio.sleep(0.2)

    task = asyncio.create_task(drive())
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.mark.slow
async def test_consumer_process_killed_mid_batch_applies_every_event_once_after_restart(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
    kafka_group_timeouts: dict[str, int],
    tmp_path: Path,
) -> None:
    name = "c-killed"
    case_ids = await asyncio.to_thread(workload.portfolio, 12, 3)  # 48 events to begin with
    mark = tmp_path / "hanging"
    totals = tmp_path / "totals.json"
    async with running_relay(relay_settings, cases):
        async with commands_flowing(workload, case_ids):
            # 1. Killed inside a batch: the handler of the 31st event hangs in the batch's open
            #    transaction, after earlier events of that batch were handled but not committed.
            first = start(
                consumer_env(relay_settings, name, kafka_group_timeouts, HANG_AFTER="30",
                             MARK_FILE=str(mark))
            )  # fmt: skip
            try:
                await eventually(lambda: asyncio.sleep(0, mark.exists()), timeout=90)
            finally:
                kill(first)
            hung_case, hung_version = mark.read_text().split()
            committed = await counts(read_model_engine, name)
            assert sum(applied for applied, _, _ in committed.values()) < 31
            assert committed.get(hung_case, (0, 0, True))[1] < int(hung_version)

            # 2. Killed again at an arbitrary moment, once it has made some progress.
            before = sum(a for a, _, _ in committed.values())
            second = start(consumer_env(relay_settings, name, kafka_group_timeouts))
            try:
                await eventually(
                    lambda: _applied_more_than(read_model_engine, name, before + 25), timeout=90
                )
            finally:
                kill(second)

            # 3. Restarted for good while commands are still arriving.
            third = start(
                consumer_env(relay_settings, name, kafka_group_timeouts,
                             TOTALS_FILE=str(totals), HANDLER_DELAY="0")
            )  # fmt: skip
            await asyncio.sleep(2)
        # Commands have stopped; everything stored gets published and consumed.
        try:
            stored = store_events(cases)
            expected = _versions(stored)
            await eventually(
                lambda: _caught_up(read_model_engine, name, expected), timeout=90, interval=0.2
            )
        finally:
            third.send_signal(signal.SIGTERM)
            assert third.wait(timeout=30) == 0

    final = await counts(read_model_engine, name)
    assert set(final) == set(expected)
    for case_id, versions in expected.items():
        applied, last_version, in_order = final[case_id]
        assert (applied, last_version, in_order) == (versions, versions, True), case_id
    assert sum(expected.values()) == len(stored) > 48 + len(case_ids)  # events kept flowing
    result = json.loads(totals.read_text())
    assert result["parked"] == 0
    assert result["failures"] == 0


def _versions(stored: list[tuple[str, int, int]]) -> dict[str, int]:
    last: dict[str, int] = {}
    for case_id, version, _ in stored:
        last[case_id] = max(version, last.get(case_id, 0))
    return last


async def _applied_more_than(engine: AsyncEngine, name: str, n: int) -> bool:
    return sum(a for a, _, _ in (await counts(engine, name)).values()) > n


async def _caught_up(engine: AsyncEngine, name: str, expected: dict[str, int]) -> bool:
    found = await counts(engine, name)
    return all(found.get(c, (0, 0, True))[1] >= v for c, v in expected.items())
