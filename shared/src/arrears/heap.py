"""How a server process collects garbage."""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# Objects allocated per request are freed by reference counting; the cycle collector only
# needs to run now and then. At CPython's default gen-0 threshold (700) it ran every few
# requests, and its full passes walked every long-lived object (a writer's case cache):
# that was the latency tail.
GEN0_THRESHOLD = 20_000


def settle_heap() -> None:
    """Call once the app is built: what is loaded by then lives as long as the process and
    is kept out of every collection; collections then run less often."""
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 20, 20)


@contextlib.contextmanager
def fewer_collections(gen0: int = GEN0_THRESHOLD) -> Iterator[None]:
    """For a bulk job inside a process (a rebuild): what lives before it is kept out of the
    collections it triggers, which run less often meanwhile. A rebuild allocates ~30 objects
    per event and keeps two pages of them alive; at the default thresholds the collector
    walked them (and the whole import heap) so often that it cost about a third of the
    rebuilding process's CPU. Thresholds are restored afterwards; objects frozen here stay
    frozen only if the process had frozen its heap before (settle_heap)."""
    threshold = gc.get_threshold()
    settled = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(gen0, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not settled:
            gc.unfreeze()


_pauses = 0  # `collector_paused` blocks running, in any thread or task
_resume = False  # whether the collector ran when the first of them began
_pausing = threading.Lock()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """For a bulk step (a daily file's chunk, or its whole request): its objects are none of
    them garbage until it ends, and the collector would walk them again and again meanwhile
    (and every live object of the process in its full passes); most are freed by reference
    counting when it ends, so the next collection finds few. Paused process-wide while any
    such step runs (seconds at most), and resumed as it was when the last one ends."""
    global _pauses, _resume
    with _pausing:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pausing:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
