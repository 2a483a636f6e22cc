"""A server process keeps what it loaded at start out of garbage collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest
from arrears import heap
from arrears.heap import GEN0_THRESHOLD, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_settling_freezes_what_is_loaded_and_collects_less_often() -> None:
    gc.unfreeze()
    loaded = [object() for _ in range(10)]

    settle_heap()

    assert gc.get_freeze_count() > len(loaded)
    assert gc.get_threshold()[0] == GEN0_THRESHOLD > 700


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.mark.usefixtures("restored_gc")
def test_a_bulk_steps_survivors_are_frozen_and_its_cyclic_garbage_collected_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gc.unfreeze()
    gc.collect()
    monkeypatch.setattr(heap, "_last_live", 5_000)
    monkeypatch.setattr(heap, "_grown", 0)

    with heap.bulk_step():
        assert not gc.isenabled()
        garbage = weakref.ref(_Node())
        kept = [[] for _ in range(1_000)]  # well under what was live: no full collection

    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(kept)  # kept out of the collections that follow
    gc.collect()
    assert garbage() is not None  # frozen: waits for a full collection

    with heap.bulk_step():
        more = [[] for _ in range(5_000)]  # grown past what was live: a full collection due
    assert garbage() is not None  # not in the step: when idle

    assert heap.collect_if_due()

    assert garbage() is None
    assert gc.get_freeze_count() >= len(kept) + len(more)
    assert not heap.collect_if_due()  # nothing grown since


@pytest.mark.usefixtures("restored_gc")
def test_a_process_never_idle_still_collects_its_cyclic_garbage_in_a_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(heap, "_last_live", 1_000)
    monkeypatch.setattr(heap, "_grown", 0)

    with heap.bulk_step():
        garbage = weakref.ref(_Node())
        kept = [[] for _ in range(heap.LIMIT * 1_000)]

    assert garbage() is None
    assert gc.get_freeze_count() >= len(kept)
