"""`python -m case_service.relay` as a real process: killed between publish and save."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from case_service.application import CaseApplication
from case_service.relay import RelaySettings
from sqlalchemy.ext.asyncio import AsyncEngine

from .conftest import Workload, eventually, read_model, read_topic, store_events
from .test_consumer import running_consumer
from .test_relay import saved_position


def relay_env(settings: RelaySettings, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "CIPHER_KEY": settings.cipher_key or "",
        "JWT_SECRET": settings.jwt_secret or "",
        "RELAY_TOPIC": settings.relay_topic,
        "RELAY_METRICS_PORT": "0",
        "RELAY_BATCH_SIZE": "5",
        "LOG_JSON": "false",
    }
    env.update(extra)
    return env


@pytest.mark.slow
async def test_relay_killed_between_publish_and_save_republishes_and_consumers_count_once(
    relay_settings: RelaySettings,
    cases: CaseApplication,
    workload: Workload,
    read_model_engine: AsyncEngine,
) -> None:
    await asyncio.to_thread(workload.portfolio, 5, 1)  # 10 events: two batches of 5
    stored = store_events(cases)

    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "case_service.relay"],
        env=relay_env(relay_settings, RELAY_CRASH_AFTER_BATCHES="2"),
        capture_output=True,
        timeout=60,
    )
    assert crashed.returncode == 70, crashed.stderr.decode()[-2000:]
    assert saved_position(cases) == 5  # batch 2 was acknowledged but its position not saved

    relay = subprocess.Popen(
        [sys.executable, "-m", "case_service.relay"], env=relay_env(relay_settings)
    )
    try:
        await eventually(
            lambda: asyncio.to_thread(lambda: saved_position(cases) >= stored[-1][2]), timeout=60
        )
    finally:
        relay.terminate()
        assert relay.wait(timeout=30) == 0  # graceful on SIGTERM

    records = await read_topic(
        relay_settings.kafka_bootstrap_servers, relay_settings.relay_topic, expected=15
    )
    ids = [e.id for _, e, _ in records]
    assert len(ids) == 15
    assert len(set(ids)) == 10

    async with running_consumer(relay_settings, read_model_engine, "c-crash") as consumer:
        await eventually(
            lambda: asyncio.sleep(0, consumer.totals.applied + consumer.totals.duplicates >= 15)
        )
        assert consumer.totals.duplicates == 5
    rows = await read_model(read_model_engine, "c-crash")
    assert sorted(rows, key=lambda r: r[2]) == list(stored)
