"""Reading and encoding the relay's next batches while the current one is in flight.

A batch is a range of notification ids, (after, upto]: ranges need no read before them to
be known, so several can be read and encoded at once, by worker processes (each with its
own connection and mapper, on its own core), and published strictly in order by the relay.
`relay_decoders = 0` encodes in a thread of the relay's process instead (tests, one core).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import TYPE_CHECKING

from case_service.relay.wire import Record
from case_service.settings import CaseServiceSettings
from case_service.worker_process import end_with_parent

if TYPE_CHECKING:
    from case_service.relay.envelopes import CaseEventEncoder
    from case_service.relay.store import RelayStore

# One per worker process, made by `_start`.
_WORKER: tuple[RelayStore, CaseEventEncoder] | None = None


def _start(settings: CaseServiceSettings, relay_pid: int) -> None:
    end_with_parent(relay_pid)
    from case_service.application import CaseApplication
    from case_service.relay.envelopes import CaseEventEncoder
    from case_service.relay.store import RelayStore

    global _WORKER
    application = CaseApplication(settings)
    _WORKER = (RelayStore(application.recorder_), CaseEventEncoder(application.mapper))


def _encode(after: int, upto: int) -> list[Record]:
    assert _WORKER is not None, "worker not started"
    store, encoder = _WORKER
    return encoder.records(store.rows_between(after, upto))


class Decoders:
    """Schedules `encode(after, upto)` on the workers; results are awaited in order."""

    def __init__(
        self,
        settings: CaseServiceSettings,
        processes: int,
        store: RelayStore,
        encoder: CaseEventEncoder,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.processes = processes
        self._executor: Executor
        if self.processes > 0:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start,
                initargs=(settings, os.getpid()),
            )
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-encode")

    def encode(self, after: int, upto: int) -> asyncio.Future[list[Record]]:
        loop = asyncio.get_running_loop()
        if self.processes > 0:
            return loop.run_in_executor(self._executor, _encode, after, upto)
        return loop.run_in_executor(self._executor, self._encode_here, after, upto)

    def _encode_here(self, after: int, upto: int) -> list[Record]:
        return self.encoder.records(self.store.rows_between(after, upto))

    def close(self, *, kill: bool = False) -> None:
        """Stop the workers; with `kill`, at once (before the relay exits hard)."""
        if kill and isinstance(self._executor, ProcessPoolExecutor):
            for process in list(getattr(self._executor, "_processes", {}).values()):
                process.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)
