"""A case's state from its events: the one replay loop of the application's reads, the
command writer's batch read and the daily file's cold read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def replayed(aggregate: T | None, events: Iterable[Any]) -> T | None:
    """The library's `project_aggregate` (each event's `mutate` in turn; its documented
    `projector_func`) without its per-event `assert isinstance(event, CanMutateProtocol)`,
    a check against a runtime-checkable Protocol that took a fifth of a read at an old
    version. A case's stored events are its own classes, which all mutate."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate
