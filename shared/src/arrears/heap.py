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

# A bulk step's survivors are frozen (`bulk_step`); cyclic garbage among them is only found
# by a full collection, due once the frozen heap is GROWTH times what was live after the
# last one and run when the process is idle (`collect_if_due`), or by a step past LIMIT
# times: memory stays within that factor of what is live, and the full walks grow rarer as
# the kept objects (a worker's warm cases) grow. One walked a worker's 340,000 objects in
# 0.07-0.18 s of CPU, in the middle of a file.
GROWTH = 2
LIMIT = 4
_last_live = 0  # objects live after the last full collection (or `settle_heap`)
_grown = 0  # objects frozen since, net of those freed
_full = threading.Lock()


def settle_heap() -> None:
    """Call once the app is built: what is loaded by then lives as long as the process and
    is kept out of every collection; collections then run less often."""
    global _last_live, _grown
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 20, 20)
    _last_live, _grown = gc.get_freeze_count(), 0


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


@contextlib.contextmanager
def bulk_step() -> Iterator[None]:
    """For a step that allocates many objects, most of them kept a while (a daily file chunk
    rebuilding thousands of cases, kept warm after it): the collector is paused during it,
    and what survives it is frozen (O(1)) before the collector resumes. Resuming without
    freezing, the next collection walked everything the step allocated, and later ones walked
    the kept cases again and again: 2 to 8 us per item of a chunk. Objects freed by reference
    counting are freed as ever, frozen or not; cyclic garbage waits for the next full
    collection, which `GROWTH` bounds."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        grown = gc.get_count()[0]  # net of frees, since the last step (or collection)
        gc.freeze()
        _collect_if_grown(grown)
        if was_enabled:
            gc.enable()


def collect_if_due() -> bool:
    """Call when idle (a daily file worker between files): the full collection, if what
    bulk steps froze since the last one grew past `GROWTH` times what was live then."""
    return _collect_past(GROWTH)


def _collect_if_grown(grown: int) -> None:
    """`grown`: the objects a step left frozen, net of those freed meanwhile (the collector's
    own allocation count; counting the frozen objects walks them all, too slow per step).
    A step collects only past `LIMIT`: a process never idle still collects in time."""
    global _grown
    _grown += grown
    _collect_past(LIMIT)


def _collect_past(factor: int) -> bool:
    global _last_live, _grown
    if _grown <= (factor - 1) * _last_live or not _full.acquire(blocking=False):
        return False
    try:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        _last_live, _grown = gc.get_freeze_count(), 0
    finally:
        _full.release()
    return True
