"""A server process keeps what it loaded at start out of garbage collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from arrears.heap import GEN0_THRESHOLD, collector_paused, settle_heap


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


def test_the_collector_stays_paused_until_the_last_overlapping_step_ends() -> None:
    assert gc.isenabled()
    first, second = collector_paused(), collector_paused()

    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second step (another request, say) still runs
    second.__exit__(None, None, None)

    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
