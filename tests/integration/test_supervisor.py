"""`make run`'s supervisor over real child processes: a child killed with SIGKILL comes back
after its delay, said in one line; a child that keeps dying makes the supervisor give up."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from arrears_dev.supervisor import GaveUp, ProcessChild, RestartPolicy, ServerChild, Supervisor

FAST = RestartPolicy(first_delay=0.1, max_delay=1.0, max_restarts=3, window=30.0)


def _until(supervisor: Supervisor, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        supervisor.check()
        time.sleep(0.05)


def _sleeper(tmp_path: Path) -> tuple[ProcessChild, Path]:
    """A child that writes its pid to a file, then sleeps."""
    pids = tmp_path / "pids"
    code = (
        "import os, sys, time\n"
        "with open(sys.argv[1], 'a') as f: f.write(f'{os.getpid()}\\n')\n"
        "time.sleep(120)\n"
    )
    child = ProcessChild("sleeper", [sys.executable, "-c", code, str(pids)], tmp_path / "s.log")
    return child, pids


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def test_delays_double_with_each_death_and_stop_at_the_cap() -> None:
    policy = RestartPolicy(first_delay=1.0, max_delay=10.0)

    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 10.0]


def test_a_child_killed_with_sigkill_is_restarted_and_said_so_in_one_line(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    supervisor = Supervisor(FAST, say=said.append)
    child, pids = _sleeper(tmp_path)
    child.start()
    supervisor.adopt(child)
    try:
        _until(supervisor, lambda: len(_pids(pids)) == 1)
        os.kill(_pids(pids)[0], signal.SIGKILL)

        _until(supervisor, lambda: len(_pids(pids)) == 2)

        assert child.alive()
        assert child.process is not None
        assert child.process.pid == _pids(pids)[1]
        assert said == [
            "supervisor: sleeper was killed by SIGKILL; restarting in 0.1 s "
            "(death 1 of 3 allowed in 30 s)"
        ]
    finally:
        child.stop()
    assert not child.alive()


def test_a_child_that_keeps_dying_makes_the_supervisor_give_up_loudly(tmp_path: Path) -> None:
    said: list[str] = []
    supervisor = Supervisor(FAST, say=said.append)
    code = "print('cannot reach the database'); raise SystemExit(3)"
    child = ProcessChild("crasher", [sys.executable, "-c", code], tmp_path / "c.log")
    child.start()
    supervisor.adopt(child)

    with pytest.raises(GaveUp) as gave_up:
        _until(supervisor, lambda: False)

    message = str(gave_up.value)
    assert message.startswith("crasher exited with 3, its 4th death within 30 s: giving up")
    assert "cannot reach the database" in message  # the end of its log
    assert [line.split(";")[1].strip() for line in said] == [
        "restarting in 0.1 s (death 1 of 3 allowed in 30 s)",
        "restarting in 0.2 s (death 2 of 3 allowed in 30 s)",
        "restarting in 0.4 s (death 3 of 3 allowed in 30 s)",
    ]


class _Unstartable:
    """A server that is down and whose start fails with a long, multi-line error."""

    running = False

    def start(self) -> None:
        raise RuntimeError("port 5433 is taken\nits log:\n...forty lines...")

    def stop(self) -> None:
        pass


def test_a_failed_restart_counts_as_a_death_and_is_said_in_one_line() -> None:
    said: list[str] = []
    supervisor = Supervisor(FAST, say=said.append)
    supervisor.adopt(ServerChild("postgresql", _Unstartable()))

    with pytest.raises(GaveUp):
        _until(supervisor, lambda: False)

    assert said[0] == (
        "supervisor: postgresql died; restarting in 0.1 s (death 1 of 3 allowed in 30 s)"
    )
    assert said[1].startswith("supervisor: postgresql did not start (port 5433 is taken); ")
    assert all("\n" not in line for line in said)
