"""Logs mask personal numbers and carry the correlation id; the clock moves only when told."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from arrears.clock import (
    FileClock,
    ManualClock,
    SystemClock,
    clock_from,
    release_file_clock,
    set_file_clock,
)
from arrears.logging import JsonFormatter, mask_digits, reset_correlation_id, set_correlation_id


def test_long_digit_runs_are_masked_keeping_their_ends() -> None:
    assert mask_digits("called +8613800001234 for loan 42") == "called +86*********34 for loan 42"


def test_a_log_line_is_json_with_service_and_correlation_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "paid by 13800001234", None, None)
    token = set_correlation_id("corr-1")
    try:
        line = json.loads(JsonFormatter("case-service").format(record))
    finally:
        reset_correlation_id(token)

    assert line["service"] == "case-service"
    assert line["correlation_id"] == "corr-1"
    assert "13800001234" not in line["message"]


def test_manual_clock_moves_only_when_advanced() -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    clock = ManualClock(start)

    assert clock.now() == start
    assert clock.advance(timedelta(days=1)) == start + timedelta(days=1)
    assert clock.now() == start + timedelta(days=1)


def test_manual_clock_refuses_a_naive_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 11, 2))


def test_a_file_clock_runs_on_from_the_instant_written_and_follows_each_new_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "clock"
    clock = FileClock(path)
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)  # no file yet: the system clock

    day = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    set_file_clock(path, day)
    first = clock.now()
    assert day <= first < day + timedelta(seconds=5)
    assert clock.now() >= first  # it runs on, never back

    set_file_clock(path, day + timedelta(days=1))
    assert day + timedelta(days=1) <= clock.now() < day + timedelta(days=1, seconds=5)


def test_a_released_file_clock_is_the_system_clock_again(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = FileClock(path)
    set_file_clock(path, datetime(2026, 7, 1, 13, 0, tzinfo=UTC))
    assert clock.now() < datetime(2026, 7, 2, tzinfo=UTC)

    release_file_clock(path)
    release_file_clock(path)  # releasing twice is harmless (a run stopped after its end)

    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)


def test_a_file_clock_needs_a_time_zone(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        set_file_clock(tmp_path / "clock", datetime(2026, 7, 1))
    (tmp_path / "naive").write_text("2026-07-01T13:00:00\n")
    with pytest.raises(ValueError, match="no time zone"):
        FileClock(tmp_path / "naive").now()


def test_a_service_runs_on_the_file_clock_only_when_one_is_set(tmp_path: Path) -> None:
    assert isinstance(clock_from(None), SystemClock)
    assert isinstance(clock_from(str(tmp_path / "clock")), FileClock)
