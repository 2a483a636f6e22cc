"""A worker process ends when the process that started it is gone (no orphans after a kill)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

WORKER = textwrap.dedent(
    """
    import sys, time
    from case_service.worker_process import end_with_parent
    end_with_parent(int(sys.argv[1]), every_seconds=0.05)
    time.sleep(120)
    """
)

# Starts a worker watching this intermediate process, says the worker's pid, then waits to
# be killed hard.
PARENT = textwrap.dedent(
    f"""
    import os, subprocess, sys, time
    worker = subprocess.Popen([sys.executable, "-c", {WORKER!r}, str(os.getpid())])
    print(worker.pid, flush=True)
    time.sleep(120)
    """
)


def _gone(pid: int, within: float = 30.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def test_a_worker_ends_when_its_parent_is_killed_hard() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    worker_pid = int(parent.stdout.readline())
    assert psutil.pid_exists(worker_pid)

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()

    assert _gone(worker_pid)


def test_a_worker_whose_parent_was_gone_before_it_started_ends_at_once() -> None:
    # The pid handed over is not its parent's (the parent died while it was starting).
    worker = subprocess.Popen([sys.executable, "-c", WORKER, "1"])
    assert worker.wait(timeout=30) == 0
