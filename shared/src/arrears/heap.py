"""How a server process collects garbage."""

from __future__ import annotations

import gc

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
