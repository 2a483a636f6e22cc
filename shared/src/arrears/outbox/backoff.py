"""Exponential backoff for retrying deliveries, capped."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed tries (1, 2, ...)."""
        return min(self.maximum, self.initial * 2.0 ** max(0, attempts - 1))
