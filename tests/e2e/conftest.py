"""One running system per e2e module (starting four processes costs seconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .system import System, running_system


@pytest.fixture(scope="module")
def system(
    postgres_url_base: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    with running_system(
        postgres_url_base,
        kafka_bootstrap_servers,
        logs,
        # tansu makes a consumer-group join wait one session timeout: keep it short.
        {"KAFKA_SESSION_TIMEOUT_MS": "1000", "KAFKA_HEARTBEAT_INTERVAL_MS": "200"},
    ) as running:
        yield running


@pytest.fixture(autouse=True)
def _real_time_after_each_test(system: System) -> Iterator[None]:
    """A test that lets days pass on the services' clock hands it back to real time."""
    yield
    system.release_clock()
