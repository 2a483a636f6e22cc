"""Outcomes recorded here go to case-service through the shared command outbox
(`arrears.outbox`): queued in the same transaction as this service's own bookkeeping (the
guard's decision and the pending attempt it counts at once), sent at once after the commit
by `CommandSender` (one lean keep-alive client), and otherwise delivered by the background
`CommandForwarder` when case-service is back - once, with the caller's Idempotency-Key, in
order per case.

The request that queued a command sends it itself: the row is queued with its
`next_attempt_at` a lease ahead (readmodel.repository.commands), so the background forwarder
leaves it alone while the request sends it, and picks it up if the request dies. A command
queued behind an earlier one to the same case still on its way is not sent here: the
forwarder keeps the order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
import orjson
from arrears.errors import Problem
from arrears.logging import CORRELATION_HEADER
from arrears.outbox import ACCEPTED, PENDING, REJECTED, Backoff, Delivery, retryable
from arrears.outbox.commands import DELIVERIES
from fastapi.responses import JSONResponse, Response

from contact_service.caseclient import Answer, CaseServiceClient

_log = logging.getLogger(__name__)


def key_reused() -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "this Idempotency-Key was already used with a different request",
        field="Idempotency-Key",
    )


_FINISH = (
    "UPDATE command_outbox SET outcome = $2, status = $3, response = $4::text::jsonb,"
    " delivered_at = now(), attempts = attempts + 1 WHERE id = $1 AND delivered_at IS NULL"
)
_RETRY = (
    "UPDATE command_outbox SET attempts = attempts + 1, last_error = $2,"
    " next_attempt_at = now() + make_interval(secs => $3)"
    " WHERE id = $1 AND delivered_at IS NULL"
)


class Poster(Protocol):
    """What sends the request (CaseServiceClient; tests put case-service's app behind one)."""

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer: ...

    async def aclose(self) -> None: ...


class CommandSender:
    """Sends a command its request just queued, and writes case-service's answer on it."""

    def __init__(
        self,
        case_service_url: str,
        token: Callable[[], str],
        *,
        timeout_seconds: float = 10.0,
        backoff: Backoff | None = None,
        wake: Callable[[], None] | None = None,
        client: Poster | None = None,
    ) -> None:
        self._client = client or CaseServiceClient(case_service_url, timeout=timeout_seconds)
        self._token = token
        self._backoff = backoff or Backoff()
        self.wake = wake or (lambda: None)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self,
        pool: asyncpg.Pool,
        command_id: int,
        *,
        case_id: str,
        command: str,
        key: str,
        body: dict[str, Any],
        correlation_id: str | None,
    ) -> Delivery:
        headers = {"Authorization": f"Bearer {self._token()}", "Idempotency-Key": key}
        if correlation_id:
            headers[CORRELATION_HEADER] = correlation_id
        try:
            answer = await self._client.post(
                f"/v1/cases/{case_id}/{command}", orjson.dumps(body), headers
            )
        except (OSError, EOFError, TimeoutError, ValueError) as exc:
            return await self._later(
                pool, command_id, command, None, f"{type(exc).__name__}: {exc}"
            )
        try:
            parsed = orjson.loads(answer.body)
            stored = answer.body.decode()
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            parsed = {"text": answer.body[:2000].decode(errors="replace")}
            stored = orjson.dumps(parsed).decode()
        if retryable(answer.status):
            error = f"HTTP {answer.status}: {stored[:2000]}"
            return await self._later(pool, command_id, command, answer.status, error)
        outcome = ACCEPTED if answer.status < 300 else REJECTED
        await pool.execute(_FINISH, command_id, outcome, answer.status, stored)
        DELIVERIES.labels(command, outcome).inc()
        if outcome == REJECTED:
            _log.warning("case-service refused %s for case %s: %s", command, case_id, stored)
        return Delivery(command_id, outcome, answer.status, parsed)

    async def _later(
        self, pool: asyncpg.Pool, command_id: int, command: str, status: int | None, error: str
    ) -> Delivery:
        """Not delivered: the background forwarder retries it after the backoff."""
        await pool.execute(_RETRY, command_id, error[:2000], self._backoff.delay(1))
        DELIVERIES.labels(command, "retry").inc()
        _log.warning("command %s will be retried: %s", command_id, error)
        self.wake()
        return Delivery(command_id, PENDING, status, None, error)


def answer(delivery: Delivery, pending_body: dict[str, Any], *, replayed: bool = False) -> Response:
    """case-service's own answer when it gave one; 202 while the command waits. A resend of
    a queued command says so (Idempotent-Replayed: true)."""
    headers = {"X-Command-Id": str(delivery.command_id)}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if delivery.outcome == PENDING or delivery.status is None:
        body = {**pending_body, "command_id": delivery.command_id, "status": "pending"}
        if delivery.last_error:
            body["last_error"] = delivery.last_error
        return JSONResponse(body, status_code=202, headers=headers)
    media = "application/problem+json" if delivery.status >= 400 else "application/json"
    return Response(
        orjson.dumps(delivery.body), status_code=delivery.status, headers=headers, media_type=media
    )
