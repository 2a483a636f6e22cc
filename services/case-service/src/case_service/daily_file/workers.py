"""Worker processes that prepare the daily file's chunks: read, check and encode.

Reading a case (decrypting and decoding its snapshot and events, replaying them) and
running an item through its rules is pure Python, so one process uses one core. With
`DAILY_FILE_WORKERS` > 0 the file's chunks are split by case between that many processes
(always the same process for a case, which keeps it warm there between files),
each with its own `CaseApplication` on the same store (no command writer of its own is
used); they send back the encoded events and one outcome per item, and the request's
process appends them (chain and correlation included) while the next chunk is prepared.
The workers start with the API (`start`), in the background; until they are ready, or for
a small file, the request's process prepares chunks itself.

A worker keeps the events of its last parts (`_parts`, by the part's number); once a part
is committed the server sends the ids its events took (`confirm`) with the next part it
sends that worker, and the worker confirms its warm cases with them (warm.py) before it
prepares that part: its tail does not read them back.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import random
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from arrears.heap import settle_heap
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from case_service.daily_file.items import MissedInstallment, packed, unpacked
from case_service.daily_file.prepared import Packed, Part, Prepared
from case_service.daily_file.warm import DEFAULT_LIMIT, Ranges
from case_service.settings import CaseServiceSettings
from case_service.worker_process import end_with_parent

# Named, not imported: the application imports this module.
APPLICATION_TOPIC = "case_service.application:CaseApplication"


class _Preparer(Protocol):
    def prepare_missed_installments(
        self, items: list[MissedInstallment], now: datetime
    ) -> Prepared: ...

    def confirm_prepared_installments(
        self, events: Sequence[StoredEvent], stored_at: Ranges
    ) -> None: ...

    def daily_file_followed(self) -> int: ...


_log = logging.getLogger(__name__)
_app: _Preparer | None = None
# The case ids a worker was sent, by their bytes: the same cases come to the same worker
# file after file (warm.py keeps them), and building each UUID again cost a microsecond an
# item. Bounded as the warm cases are (emptied when full: it is only a shortcut).
_ids: dict[bytes, UUID] = {}
IDS_LIMIT = 2 * DEFAULT_LIMIT
NICENESS = 10  # the workers' nice value above the server's (`_start_worker`)
# This worker's number, and its parts' numbers: from a random start, so a confirmation meant
# for another process (one replaced since) names no part of this one.
_number = 0
_part_numbers = itertools.count()
# The events of this worker's last parts with events, by number, until confirmed: parts are
# confirmed in the order sent, a few chunks behind, so the oldest is dropped (left to the
# tail) past this many.
_parts: OrderedDict[int, list[StoredEvent]] = OrderedDict()
PARTS_KEPT = 16


def _start_worker(settings_json: str, server_pid: int, number: int = 0) -> None:
    global _app, _number, _part_numbers
    _number = number
    _part_numbers = itertools.count(random.SystemRandom().getrandbits(60))
    end_with_parent(server_pid)
    # The worker runs at low priority for its whole life (NICENESS above the server's): its
    # start-up (imports, opening the store) does not slow the server it starts beside, and
    # during a file the server's reading of the body, its appends' PostgreSQL backend and
    # any command the server takes meanwhile go first, the workers taking the cores they
    # leave. Restoring the priority needs a privilege a service does not run with: it was
    # restored only as root (the benches), so production and benches differed, and keeping
    # it was the faster of the two there too (docs/benchmarks.md, 2026-12-06 16:15).
    os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
    settings = CaseServiceSettings.model_validate_json(settings_json)
    _app = resolve_topic(APPLICATION_TOPIC)(settings)
    # As the server does once built (__main__.py): the imports and the store's set-up live as
    # long as the worker and are kept out of every collection, and collections run less often.
    # Without it, a full collection walking the start-up heap fell inside the first file.
    settle_heap()


def _pid() -> int:
    return os.getpid()


# Parts committed, as sent to a worker with its next part: (part number, ranges of ids).
Confirmed = list[tuple[int, Ranges]]


def _prepare(
    rows: list[Any], now: datetime, confirmed: Sequence[tuple[int, Ranges]] = ()
) -> Packed:
    assert _app is not None, "the worker did not start"
    for done, stored_at in confirmed:
        _confirm(done, stored_at)
    if len(_ids) > IDS_LIMIT:
        _ids.clear()
    prepared = _app.prepare_missed_installments(unpacked(rows, _ids), now)
    part = next(_part_numbers)
    if prepared.events:
        _parts[part] = prepared.events  # the very objects put back (warm.py, `confirm`)
        if len(_parts) > PARTS_KEPT:
            _parts.popitem(last=False)
    return prepared.portable((_number, part))


def _confirm(part: int, stored_at: Ranges) -> None:
    """Part number `part` of this worker is committed, its events at these ids."""
    events = _parts.pop(part, None)
    if events is not None and _app is not None:
        _app.confirm_prepared_installments(events, stored_at)


def _followed() -> int:
    """The rows this worker's tails returned (warm.py), for the benches and tests."""
    assert _app is not None, "the worker did not start"
    return _app.daily_file_followed()


class Workers:
    """`count` processes, each its own one-process pool: a part of a chunk is sent to a
    chosen process (`submit(n, ...)`), so each case goes to the same process file after
    file and finds itself warm there (warm.py)."""

    def __init__(self, settings: CaseServiceSettings) -> None:
        self.count = settings.daily_file_workers
        worker_settings = settings.model_copy(
            update={
                "daily_file_workers": 0,
                "migrate_on_start": False,
                "create_tables": False,
                "db_pool_size": 2,
                "db_max_overflow": 0,
                "aggregate_cache_size": 0,
            }
        )
        self._settings_json = worker_settings.model_dump_json()
        self._pools: list[ProcessPoolExecutor] = []
        self._ready = threading.Event()
        # Per worker, its parts committed since its last part was sent (`confirm`).
        self._confirmed: list[Confirmed] = [[] for _ in range(max(self.count, 0))]
        self._confirming = threading.Lock()  # appends confirm in a thread, submits in another

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def start(self) -> None:
        """Start the processes in the background (each imports and opens its store)."""
        if self.count <= 0 or self._pools:
            return
        context = multiprocessing.get_context("spawn")
        self._pools = [
            ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._settings_json, os.getpid(), number),
            )
            for number in range(self.count)
        ]
        started = [pool.submit(_pid) for pool in self._pools]

        def wait() -> None:
            try:
                for future in started:
                    future.result(timeout=120)
            except Exception:
                _log.exception("daily file workers did not start; chunks are prepared in-process")
                return
            self._ready.set()

        threading.Thread(target=wait, name="daily-file-workers", daemon=True).start()

    def submit(self, worker: int, items: list[MissedInstallment], now: datetime) -> Future[Packed]:
        """Prepare `items` in process number `worker` (0 to count - 1); `Prepared.arrived`
        unpacks the answer."""
        with self._confirming:
            confirmed, self._confirmed[worker] = self._confirmed[worker], []
        return self._pools[worker].submit(_prepare, packed(items), now, confirmed)

    def confirm(self, parts: list[Part], ids: list[int]) -> None:
        """These parts (in the order their events were appended) are committed, their
        events at `ids` (in the same order): each worker is told its parts' ids, as ranges,
        with the next part it is sent (no message of their own: before the next part is all
        the worker needs them, warm.py). One that is lost only costs a read."""
        start = 0
        with self._confirming:
            for worker, part, count in parts:
                waiting = self._confirmed[worker]
                waiting.append((part, id_ranges(ids[start : start + count])))
                start += count
                if len(waiting) > PARTS_KEPT:  # no part sent for long: the worker forgot them
                    del waiting[0]

    def processes(self) -> list[multiprocessing.process.BaseProcess]:
        """The worker processes now running (none before `start` or after `close`)."""
        return [p for pool in self._pools for p in getattr(pool, "_processes", {}).values()]

    def close(self) -> None:
        """Stop the workers without waiting for them: they only read and encode, so a chunk
        they were preparing is simply not appended (the server is stopping anyway)."""
        self._ready.clear()
        processes = self.processes()
        pools, self._pools = self._pools, []
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join(timeout=5)


def id_ranges(ids: list[int]) -> list[tuple[int, int]]:
    """Rising ids as ranges (first, last): a part's events take consecutive ids (one
    statement under the insert lock), so usually one range, found without a loop."""
    if not ids:
        return []
    if ids[-1] - ids[0] == len(ids) - 1:
        return [(ids[0], ids[-1])]
    ranges = [(ids[0], ids[0])]
    for i in ids[1:]:
        first, last = ranges[-1]
        if i == last + 1:
            ranges[-1] = (first, i)
        else:
            ranges.append((i, i))
    return ranges
