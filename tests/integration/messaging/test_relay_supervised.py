"""The relay under `make run`'s supervisor: killed with SIGKILL, it is started again and the
events recorded while it was down still reach the topic."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from arrears.messaging import event_id
from arrears_dev.supervisor import ProcessChild, RestartPolicy, Supervisor
from case_service.application import CaseApplication
from case_service.relay import RelaySettings

from .conftest import Workload, eventually, read_topic, store_events
from .test_relay import saved_position
from .test_relay_process import relay_env


async def test_a_relay_killed_with_sigkill_is_restarted_and_publishes_what_came_meanwhile(
    relay_settings: RelaySettings, cases: CaseApplication, workload: Workload, tmp_path: Path
) -> None:
    said: list[str] = []
    supervisor = Supervisor(RestartPolicy(first_delay=0.2), say=said.append)
    relay = ProcessChild(
        "case-relay",
        [sys.executable, "-m", "case_service.relay"],
        tmp_path / "relay.log",
        relay_env(relay_settings),
    )

    def published_up_to(position: int) -> bool:
        supervisor.check()
        return saved_position(cases) >= position

    relay.start()
    supervisor.adopt(relay)
    try:
        await asyncio.to_thread(workload.portfolio, 3, 1, "A")
        first = store_events(cases)[-1][2]
        await eventually(lambda: asyncio.to_thread(published_up_to, first), timeout=60)
        assert relay.process is not None
        os.kill(relay.process.pid, signal.SIGKILL)
        await asyncio.to_thread(workload.portfolio, 3, 1, "B")
        stored = store_events(cases)

        await eventually(lambda: asyncio.to_thread(published_up_to, stored[-1][2]), timeout=60)

        assert said == [
            "supervisor: case-relay was killed by SIGKILL; restarting in 0.2 s "
            "(death 1 of 5 allowed in 60 s)"
        ]
    finally:
        relay.stop()
    # Everything on the topic (a few seconds' wait: a batch cut short by the kill may be there
    # twice, which consumers absorb), so every stored event must be among it.
    records = await read_topic(
        relay_settings.kafka_bootstrap_servers,
        relay_settings.relay_topic,
        expected=2 * len(stored),
        timeout=5,
    )
    assert {e.id for _, e, _ in records} == {event_id(c, v) for c, v, _ in stored}
