"""Forwarding recorded outcomes to case-service through the command outbox.

The API puts a command in the outbox in the same transaction as its own bookkeeping (the
pending attempt the guard counts); the forwarder sends it to case-service with the caller's
Idempotency-Key and keeps trying while case-service is down, so it is delivered once.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection


class CommandQueue(Protocol):
    async def enqueue(
        self,
        conn: AsyncConnection,
        *,
        case_id: str,
        command: str,
        body: dict[str, Any],
        idempotency_key: str,
        correlation_id: str | None,
    ) -> str:
        """Queue `POST /v1/cases/{case_id}/{command}`; returns the command's status."""
        ...
