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

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
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


# case-service's answers, written together a moment after they come (`Outcomes`).
_FINISH = (
    "UPDATE command_outbox o SET outcome = f.outcome, status = f.status,"
    " response = f.response::jsonb, delivered_at = f.at, attempts = o.attempts + 1"
    " FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::timestamptz[])"
    "  AS f(id, outcome, status, response, at)"
    " WHERE o.id = f.id AND o.delivered_at IS NULL"
)
# How long an answer waits to be written with the ones that follow it. With several server
# processes, 0: another process does not know an answer this one holds, and would take the
# next command to the case for one queued behind it (202) meanwhile.
FINISH_DELAY_SECONDS = 0.1
_RETRY = (
    "UPDATE command_outbox SET attempts = attempts + 1, last_error = $2,"
    " next_attempt_at = now() + make_interval(secs => $3)"
    " WHERE id = $1 AND delivered_at IS NULL"
)


class Poster(Protocol):
    """What sends the request (CaseServiceClient; tests put case-service's app behind one)."""

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer: ...

    async def aclose(self) -> None: ...


class Outcomes:
    """case-service's answers not yet written on their commands. Writing each at once was a
    round trip of its own per attempt; they are written together `FINISH_DELAY_SECONDS`
    after the first of them, in one statement. Meanwhile this process answers from here:
    a resend of the command and `GET /v1/commands/{id}` see the answer, and a command queued
    after one of these to the same case is not taken to be behind it. If the process dies
    first, the command's lease runs out and the forwarder sends it again with its
    Idempotency-Key: case-service answers that it had it already (as after a crash between
    the send and the write before)."""

    def __init__(
        self, delay: float = FINISH_DELAY_SECONDS, wake: Callable[[], None] | None = None
    ) -> None:
        self._delay = delay
        self._wake = wake or (lambda: None)  # the forwarder, for commands queued behind
        self._wake_after_next = False
        self._known: dict[int, tuple[Delivery, str, datetime]] = {}
        self._pool: asyncpg.Pool | None = None
        self._flushing: asyncio.Task[None] | None = None
        # One write at a time: two writes of overlapping answers (the timer's, and a request's
        # whose command waits behind one of them) locked the same rows in different orders
        # and PostgreSQL broke the deadlock by failing one, the request's with a 500.
        self._writing = asyncio.Lock()

    def note(self, pool: asyncpg.Pool, delivery: Delivery, stored: str) -> None:
        self._known[delivery.command_id] = (delivery, stored, datetime.now(UTC))
        self._pool = pool
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.get_running_loop().create_task(self._flush_later())

    def get(self, command_id: int) -> Delivery | None:
        known = self._known.get(command_id)
        return None if known is None else known[0]

    def ids(self) -> list[int]:
        return list(self._known)

    async def _flush_later(self) -> None:
        while self._known:  # and again for those that came during the write
            await asyncio.sleep(self._delay)
            try:
                await self.flush()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # Kept, and tried again after the next answer (or the lease runs out).
                _log.warning("writing %d command answers failed: %r", len(self._known), exc)
                return

    async def flush(self, *, wake_after_next: bool = False) -> None:
        """Write every answer known now (those noted meanwhile wait for the next flush).
        `wake_after_next`: a command waits behind others for the forwarder, so the forwarder
        is woken after the next write too (the answer it waits for may come later)."""
        self._wake_after_next = self._wake_after_next or wake_after_next
        async with self._writing:
            await self._write(wake_after_next)

    async def _write(self, wake_after_next: bool) -> None:
        if not self._known or self._pool is None:
            return
        taken = dict(self._known)
        ids, outcomes, statuses, bodies, times = [], [], [], [], []
        for command_id, (delivery, stored, at) in taken.items():
            ids.append(command_id)
            outcomes.append(delivery.outcome)
            statuses.append(delivery.status)
            bodies.append(stored)
            times.append(at)
        await self._pool.execute(_FINISH, ids, outcomes, statuses, bodies, times)
        for command_id, known in taken.items():
            if self._known.get(command_id) is known:
                del self._known[command_id]
        if self._wake_after_next and not wake_after_next:
            self._wake_after_next = False
            self._wake()

    async def aclose(self) -> None:
        if self._flushing is not None and not self._flushing.done():
            self._flushing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flushing
        try:
            await self.flush()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Not lost: their leases run out and the forwarder sends them again.
            _log.warning("%d command answers not written at stop: %r", len(self._known), exc)


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
        answer_delay: float = FINISH_DELAY_SECONDS,
    ) -> None:
        self._client = client or CaseServiceClient(case_service_url, timeout=timeout_seconds)
        self._token = token
        self._backoff = backoff or Backoff()
        self.wake = wake or (lambda: None)
        self.outcomes = Outcomes(answer_delay, wake=self.wake)

    async def aclose(self) -> None:
        try:
            await self.outcomes.aclose()
        finally:
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
        delivery = Delivery(command_id, outcome, answer.status, parsed)
        self.outcomes.note(pool, delivery, stored)
        DELIVERIES.labels(command, outcome).inc()
        if outcome == REJECTED:
            _log.warning("case-service refused %s for case %s: %s", command, case_id, stored)
        return delivery

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
