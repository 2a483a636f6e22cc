"""What the write side is asked to do and what it answers: commands, outcomes and their errors.

Kept apart from the executor that runs them, so the API, aging and tests speak this small
vocabulary without knowing how commands are queued, batched and saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from arrears.logging import get_correlation_id

from case_service.domain import CollectionCase
from case_service.persistence import IdempotencyRecord

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


# --- answers kept for Idempotency-Key retries, and the correlation of recorded events ---------


def replayed(
    command: Command, records: Mapping[tuple[str, str], IdempotencyRecord]
) -> Outcome | None:
    """The answer already given to the command's key, if any (a conflict if the key came
    with another request)."""
    claim = command.idempotency
    if claim is None:
        return None
    record = records.get((claim.scope, claim.key))
    if record is None:
        return None
    if record.request_hash != claim.request_hash:
        return Outcome(command.case_id, error=IdempotencyConflict(claim.key))
    return Outcome(
        command.case_id,
        version=int(record.body.get("version", 0)),
        events=list(record.body.get("events", [])),
        replayed=True,
    )


def idempotency_record(command: Command, outcome: Outcome, status: int = 201) -> IdempotencyRecord:
    claim = command.idempotency
    assert claim is not None
    return IdempotencyRecord(claim.key, claim.scope, claim.request_hash, status, outcome.body())


def correlations(
    commands: Sequence[Command], outcomes: Sequence[Outcome]
) -> list[tuple[UUID, int, str]]:
    """(case id, version, correlation id) for each event these commands recorded."""
    return [
        (command.case_id, version, command.correlation_id)
        for command, outcome in zip(commands, outcomes, strict=True)
        if command.correlation_id and not outcome.replayed
        for version in outcome.recorded_versions
    ]
