"""A server process keeps what it loaded at start out of garbage collection."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
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
