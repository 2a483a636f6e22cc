"""`python -m contact_service` as `make run` starts it: the API, the case-event consumer, the
task publisher and the command forwarder in one process, settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from arrears.messaging import parse
from arrears_dev.embedded.ports import free_port

from .conftest import JWT_SECRET, Story, publish, token


@pytest.fixture
def service(
    database_url: str, kafka_bootstrap_servers: str, topic: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    port = free_port()
    tasks_topic = topic.replace("case-events", "contact-tasks")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "CASE_SERVICE_URL": "http://127.0.0.1:9",  # not running: commands wait
        "JWT_SECRET": JWT_SECRET,
        "HTTP_PORT": str(port),
        "CASE_EVENTS_TOPIC": topic,
        "CONTACT_TASKS_TOPIC": tasks_topic,
        "CONSUMER_GROUP": "cs-process-" + str(port),
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "contact-service.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "contact_service"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError((tmp_path / "contact-service.log").read_text()[-3000:])
            time.sleep(0.2)
        yield base, tasks_topic
    finally:
        proc.terminate()
        assert proc.wait(timeout=40) is not None
        log.close()


async def test_the_process_projects_events_serves_and_publishes_tasks(
    service: tuple[str, str], kafka_bootstrap_servers: str, topic: str
) -> None:
    base, tasks_topic = service
    now = datetime.now(UTC)
    # A case delinquent for 3 days, in a zone where it is now daytime.
    zone = next(
        z
        for z in ("Asia/Shanghai", "Europe/London", "America/New_York", "Pacific/Honolulu")
        if 9 <= now.astimezone(ZoneInfo(z)).hour < 20
    )
    story = Story(tz=zone)
    story.add(
        "PaymentMissed",
        now - timedelta(days=3),
        installment=1,
        due_date=(now - timedelta(days=4)).date().isoformat(),
        amount="1200.00",
        currency="CNY",
    )
    story.add(
        "DelinquencyBucketChanged",
        now - timedelta(days=3),
        from_bucket="M0",
        to_bucket="M1",
        days_past_due=1,
        as_of=(now - timedelta(days=3)).date().isoformat(),
    )
    await publish(kafka_bootstrap_servers, topic, story.events)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        assert (await http.get("/readyz")).status_code == 200
        deadline = time.monotonic() + 60
        while True:
            view = await http.get(f"/v1/cases/{story.case_id}/contact-view", headers=token())
            if view.status_code == 200 and view.json()["bucket"] == "M1":
                break
            assert time.monotonic() < deadline, view.text
            time.sleep(0.2)
        run = await http.post("/v1/daily-runs", headers=token("service"))
        assert run.status_code == 201, run.text
        emitted = run.json()["tasks_emitted"]
        assert emitted >= 1
        metrics = await http.get("/metrics")
        assert "arrears_consumer_processed_total" in metrics.text
    consumer = AIOKafkaConsumer(
        tasks_topic,
        bootstrap_servers=kafka_bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen = []
    try:
        for _ in range(150):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                seen.extend(parse(r.value) for r in records)
            if len(seen) >= emitted:
                break
    finally:
        await consumer.stop()
    assert len(seen) == emitted
    assert all(e.subject == story.case_id for e in seen)
