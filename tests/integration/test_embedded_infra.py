"""The embedded servers behind `make run` and the test fixtures, exercised for real."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import psutil
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from arrears.auth import TokenVerifier
from arrears_dev import devstack
from arrears_dev.embedded import EmbeddedBroker, EmbeddedPostgres
from arrears_dev.testing import unique_topic

# -- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_accepts_sql_over_loopback_tcp(database_url: str) -> None:
    assert database_url.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE loans (id text PRIMARY KEY, principal numeric)")
        conn.execute("INSERT INTO loans VALUES ('L-1', 1000.50)")
        assert conn.execute("SELECT principal FROM loans").fetchone() == (pytest.approx(1000.50),)
        assert conn.execute("SELECT inet_server_addr()::text").fetchone() == ("127.0.0.1/32",)


def test_each_test_gets_an_empty_database(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)


def test_restart_keeps_committed_rows(
    embedded_postgres: EmbeddedPostgres, database_url: str
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TABLE events (n int)")
        conn.execute("INSERT INTO events SELECT generate_series(1, 100)")

    embedded_postgres.restart()

    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (100,)


def test_a_later_start_finds_the_data_despite_a_stale_pid_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    with EmbeddedPostgres(data_dir, durable=False) as server:
        server.create_database("arrears_case")
        server.create_database("arrears_case")  # idempotent
        with psycopg.connect(server.url("arrears_case")) as conn:
            conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
    # As if the previous run had been killed: a pid file naming a process that is gone.
    (data_dir / "postmaster.pid").write_text(f"{2**22 - 1}\n{data_dir}\n")

    with (
        EmbeddedPostgres(data_dir, durable=False) as server,
        psycopg.connect(server.url("arrears_case")) as conn,
    ):
        assert conn.execute("SELECT answer FROM kept").fetchone() == (42,)
    assert not server.running


# -- the broker ---------------------------------------------------------------------------


async def _consume(
    bootstrap: str, topic: str, group: str, expected: int, timeouts: dict[str, int]
) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **timeouts,
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        for _ in range(50):
            batches = await consumer.getmany(timeout_ms=200)
            values += [record.value for records in batches.values() for record in records]
            if len(values) >= expected:
                break
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    # tansu refuses InitProducerId, so idempotence stays off (it is off by default here).
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"case-1")
    finally:
        await producer.stop()


async def test_consumer_group_resumes_after_its_committed_offset(
    kafka_bootstrap_servers: str, kafka_group_timeouts: dict[str, int]
) -> None:
    topic, group = unique_topic("infra"), unique_topic("readers")
    await _produce(kafka_bootstrap_servers, topic, [b"1", b"2", b"3"])
    first = await _consume(kafka_bootstrap_servers, topic, group, 3, kafka_group_timeouts)
    assert first == [b"1", b"2", b"3"]

    await _produce(kafka_bootstrap_servers, topic, [b"4", b"5"])

    second = await _consume(kafka_bootstrap_servers, topic, group, 2, kafka_group_timeouts)
    assert second == [b"4", b"5"]


async def test_broker_restart_loses_everything(embedded_broker: EmbeddedBroker) -> None:
    topic = unique_topic("forgotten")
    await _produce(embedded_broker.bootstrap_servers, topic, [b"gone"])

    embedded_broker.restart()

    admin = AIOKafkaAdminClient(bootstrap_servers=embedded_broker.bootstrap_servers)
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


def test_broker_listens_on_loopback_only(embedded_broker: EmbeddedBroker) -> None:
    assert embedded_broker.pid is not None
    listening = [
        conn.laddr
        for conn in psutil.Process(embedded_broker.pid).net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    ]
    assert listening == [("127.0.0.1", embedded_broker.port)]


# -- devstack -----------------------------------------------------------------------------


def test_secrets_are_generated_once_and_reused(tmp_path: Path) -> None:
    first = devstack.load_or_create_secrets(tmp_path)
    second = devstack.load_or_create_secrets(tmp_path)

    assert first == second
    assert len(base64.b64decode(first.cipher_key)) == 32
    assert len(first.jwt_secret) >= 48
    assert stat.S_IMODE(os.stat(tmp_path / "secrets.json").st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["secrets.json"]


def test_token_is_signed_with_the_stored_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARREARS_DATA_DIR", str(tmp_path))

    assert devstack.main(["token", "--role", "collector", "--subject", "ann"]) == 0

    secret = devstack.load_or_create_secrets(tmp_path).jwt_secret
    principal = TokenVerifier(secret=secret).verify(capsys.readouterr().out.strip())
    assert (principal.subject, principal.roles) == ("ann", frozenset({"collector"}))
