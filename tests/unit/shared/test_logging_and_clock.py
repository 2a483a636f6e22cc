"""Logs mask personal numbers and carry the correlation id; the clock moves only when told."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from arrears.clock import ManualClock
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
