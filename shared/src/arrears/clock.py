"""Injectable time. Domain code takes `now` as an argument; services get it from a Clock."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: tests and the simulator drive days with it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now


class FileClock:
    """Simulated time for demos and benchmarks (CLOCK_FILE), never for production: the
    instant written in a file by the portfolio simulator, running on at real speed from the
    moment it was written, so every service on the machine shares one fast-forwarded day.
    Without the file, the system clock."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._seen: tuple[int, datetime] | None = None  # (the file's mtime in ns, its instant)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        try:
            written_ns = self._path.stat().st_mtime_ns
        except FileNotFoundError:
            return datetime.now(UTC)
        with self._lock:
            if self._seen is None or self._seen[0] != written_ns:
                self._seen = (written_ns, _parse_instant(self._path.read_text()))
            instant = self._seen[1]
        elapsed_ns = max(0, time.time_ns() - written_ns)
        return instant + timedelta(microseconds=elapsed_ns // 1000)


def set_file_clock(path: str | Path, instant: datetime) -> None:
    """Move a FileClock's time to `instant` (written whole, so no reader sees half of it)."""
    if instant.tzinfo is None:
        raise ValueError("a file clock needs a timezone-aware instant")
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    partial.write_text(instant.astimezone(UTC).isoformat() + "\n")
    os.replace(partial, target)


def release_file_clock(path: str | Path) -> None:
    """Hand a FileClock back to the system clock (its readers see the real time again)."""
    Path(path).unlink(missing_ok=True)


def clock_from(clock_file: str | None) -> Clock:
    """The clock a service runs on: the system's, or a simulator's file clock."""
    return FileClock(clock_file) if clock_file else SystemClock()


def _parse_instant(text: str) -> datetime:
    instant = datetime.fromisoformat(text.strip())
    if instant.tzinfo is None:
        raise ValueError(f"the clock file holds no time zone: {text!r}")
    return instant.astimezone(UTC)
