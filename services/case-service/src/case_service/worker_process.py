"""What every worker process case-service starts (the relay's encoders, the daily file's
preparers) does first: it ends when the process that started it is gone.

A pool's worker holds both ends of its own call queue's pipe, so it never reads an end of
file when its parent dies; a parent killed hard (SIGKILL, an OOM kill, the relay's own fault
injection) would leave it running for good. The parent's pid is handed over explicitly, not
read with os.getppid() once the worker has started: by then the parent may already be gone.
"""

from __future__ import annotations

import os
import threading
import time


def end_with_parent(parent_pid: int, *, every_seconds: float = 1.0) -> None:
    """Start a watcher thread that ends this process when `parent_pid` no longer is its parent
    (at once if it already is not)."""
    threading.Thread(
        target=_watch, args=(parent_pid, every_seconds), name="end-with-parent", daemon=True
    ).start()


def _watch(parent_pid: int, every_seconds: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(every_seconds)
    os._exit(0)
