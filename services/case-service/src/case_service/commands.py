"""What the write side is asked to do and what it answers: commands, outcomes and their errors.

Kept apart from the executor that runs them, so the API, aging and tests speak this small
vocabulary without knowing how commands are queued, batched and saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from arrears.logging import get_correlation_id

from case_service.domain import CollectionCase

Action = Callable[[CollectionCase], None]


class CaseNotFound(Exception):
    def __init__(self, case_id: UUID) -> None:
        super().__init__(f"no case {case_id}")
        self.case_id = case_id


class VersionMismatch(Exception):
    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the case is at version {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class IdempotencyConflict(Exception):
    """The key was used before with a different request."""


@dataclass(frozen=True)
class IdempotencyClaim:
    scope: str
    key: str
    request_hash: str


@dataclass
class Command:
    case_id: UUID
    action: Action
    expected_version: int | None = None
    idempotency: IdempotencyClaim | None = None
    # Taken from the request's context when the command is made (the writer thread has none).
    correlation_id: str | None = field(default_factory=get_correlation_id)


@dataclass
class Outcome:
    """What one command did: the case's version after it and the events it recorded."""

    case_id: UUID
    version: int = 0
    events: list[str] = field(default_factory=list)
    error: Exception | None = None
    replayed: bool = False  # answered from a stored idempotency record
    recorded_versions: list[int] = field(default_factory=list)

    @property
    def status(self) -> int:
        return 201 if self.events else 200

    def body(self) -> dict[str, Any]:
        return {"case_id": str(self.case_id), "version": self.version, "events": self.events}
