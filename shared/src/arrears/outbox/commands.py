"""Commands for case-service, queued in the caller's transaction and delivered once.

A service that records something on a case (a contact attempt, a lawsuit) writes the command
here in the same transaction as its own bookkeeping, then `CommandForwarder` sends it to
case-service's `POST /v1/cases/{case_id}/{command}` with the caller's `Idempotency-Key`.
While case-service is away the row waits and is retried with backoff; nothing is lost.

Delivered once: case-service stores the answer to each Idempotency-Key in the transaction
that records the events, so a forwarder that crashes after case-service committed but
before marking the row simply sends it again and gets the same answer back, with nothing
recorded twice. Commands to one case are delivered in the order they were queued, and two
forwarders never send the same row at once (row locks, SKIP LOCKED).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.logging import CORRELATION_HEADER, reset_correlation_id, set_correlation_id
from arrears.outbox.backoff import Backoff

_log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "arrears_outbox_command_deliveries_total",
    "Commands forwarded to case-service, by result",
    ["command", "result"],
)

ACCEPTED = "accepted"
REJECTED = "rejected"
PENDING = "pending"
# Answers worth retrying: case-service busy, away, or not yet accepting our token.
_RETRYABLE = {401, 403, 408, 425, 429}


def retryable(status: int) -> bool:
    """An answer worth sending again later (busy, away, our token not yet accepted, 5xx);
    any other answer is final: 2xx accepted, the rest rejected."""
    return status in _RETRYABLE or status >= 500


class OutboxConflict(Exception):
    """The Idempotency-Key was already used for this case and command with another body."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(f"Idempotency-Key {idempotency_key!r} was used with another body")
        self.idempotency_key = idempotency_key


@dataclass(frozen=True)
class Delivery:
    """Where a queued command stands: pending, or case-service's answer to it."""

    command_id: int
    outcome: str  # accepted | rejected | pending
    status: int | None = None
    body: Any = None
    last_error: str | None = None


async def enqueue_command(
    conn: AsyncConnection,
    *,
    case_id: str,
    command: str,
    body: Mapping[str, Any],
    idempotency_key: str,
    correlation_id: str | None = None,
) -> int:
    """Queue `POST /v1/cases/{case_id}/{command}` inside the caller's transaction and return
    its id. The same key with the same body returns the first id; with another body it
    raises OutboxConflict (the caller answers 422, as case-service would)."""
    payload = orjson.dumps(dict(body)).decode()
    inserted = await conn.execute(
        text(
            "INSERT INTO command_outbox (case_id, command, idempotency_key, body, correlation_id)"
            " VALUES (:case_id, :command, :key, CAST(:body AS jsonb), :correlation_id)"
            " ON CONFLICT (case_id, command, idempotency_key) DO NOTHING RETURNING id"
        ),
        {
            "case_id": case_id,
            "command": command,
            "key": idempotency_key,
            "body": payload,
            "correlation_id": correlation_id,
        },
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is not None:
        return int(new_id)
    existing = await queued_command(
        conn, case_id=case_id, command=command, body=body, idempotency_key=idempotency_key
    )
    assert existing is not None  # the insert above met its row
    return existing


async def queued_command(
    conn: AsyncConnection,
    *,
    case_id: str,
    command: str,
    body: Mapping[str, Any],
    idempotency_key: str,
) -> int | None:
    """The id of the command this key already queued, or None if it queued none. The same key
    with another body raises OutboxConflict (a caller answering a resend uses this before it
    does the work the first request did)."""
    existing = (
        await conn.execute(
            text(
                "SELECT id, body = CAST(:body AS jsonb) AS same FROM command_outbox"
                " WHERE case_id = :case_id AND command = :command AND idempotency_key = :key"
            ),
            {
                "case_id": case_id,
                "command": command,
                "key": idempotency_key,
                "body": orjson.dumps(dict(body)).decode(),
            },
        )
    ).one_or_none()
    if existing is None:
        return None
    if not existing.same:
        raise OutboxConflict(idempotency_key)
    return int(existing.id)


async def command_delivery(conn: AsyncConnection, command_id: int) -> Delivery:
    row = (
        await conn.execute(
            text(
                "SELECT id, outcome, status, response, last_error FROM command_outbox"
                " WHERE id = :id"
            ),
            {"id": command_id},
        )
    ).one()
    return Delivery(row.id, row.outcome or PENDING, row.status, row.response, row.last_error)


_PICK = (
    "SELECT id, case_id, command, idempotency_key, body, correlation_id, attempts"
    " FROM command_outbox o"
    " WHERE delivered_at IS NULL AND {condition}"
    # Never overtake an earlier command to the same case that is still on its way.
    " AND NOT EXISTS (SELECT 1 FROM command_outbox p"
    "  WHERE p.case_id = o.case_id AND p.delivered_at IS NULL AND p.id < o.id)"
    " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
)


class CommandForwarder:
    """Delivers queued commands to case-service; `run` is its background loop."""

    def __init__(
        self,
        engine: AsyncEngine,
        case_service_url: str,
        token: Callable[[], str],
        *,
        batch_size: int = 50,
        backoff: Backoff | None = None,
        idle_poll_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        open_body: Callable[[Any], Any] | None = None,
    ) -> None:
        self._engine = engine
        self._token = token
        # Opens what the service stored sealed (e.g. a dialled number) as it is sent.
        self._open = open_body
        self._batch_size = batch_size
        self._backoff = backoff or Backoff()
        self._idle_poll = idle_poll_seconds
        self._wake = asyncio.Event()
        self._http = httpx.AsyncClient(
            base_url=case_service_url.rstrip("/"), timeout=timeout_seconds, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def wake(self) -> None:
        """Something was queued: deliver without waiting for the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                delivered = await self.deliver_pending()
            except Exception:  # the database away: try again after a pause
                _log.exception("command forwarding pass failed")
                delivered = 0
            if delivered:
                continue
            self._wake.clear()
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(self._wake.wait())]
            await asyncio.wait(waits, timeout=self._idle_poll, return_when=asyncio.FIRST_COMPLETED)
            for task in waits:
                task.cancel()

    async def deliver_pending(self) -> int:
        """One pass over due commands; returns how many got a final answer."""
        finished = 0
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    text(_PICK.format(condition="next_attempt_at <= now()")),
                    {"limit": self._batch_size},
                )
            ).all()
            blocked: set[str] = set()
            for row in rows:
                if row.case_id in blocked:
                    continue  # an earlier command to this case just failed: keep the order
                delivery = await self._deliver(conn, row)
                if delivery.outcome == PENDING:
                    blocked.add(row.case_id)
                    if delivery.status is None:
                        break  # case-service unreachable: the rest would fail the same way
                else:
                    finished += 1
        return finished

    async def deliver_now(self, command_id: int) -> Delivery:
        """Try this command at once (an API answering its caller); if another forwarder holds
        it or an earlier command to the case is pending, report where it stands."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    text(_PICK.format(condition="id = :id")), {"id": command_id, "limit": 1}
                )
            ).one_or_none()
            if row is not None:
                return await self._deliver(conn, row)
            return await command_delivery(conn, command_id)

    async def _deliver(self, conn: AsyncConnection, row: Any) -> Delivery:
        # The logs of this delivery carry the correlation id of the request that queued it.
        token = set_correlation_id(row.correlation_id)
        try:
            return await self._deliver_with_id(conn, row)
        finally:
            reset_correlation_id(token)

    async def _deliver_with_id(self, conn: AsyncConnection, row: Any) -> Delivery:
        headers = {
            "Authorization": f"Bearer {self._token()}",
            "Idempotency-Key": row.idempotency_key,
        }
        if row.correlation_id:
            headers[CORRELATION_HEADER] = row.correlation_id
        try:
            response = await self._http.post(
                f"/v1/cases/{row.case_id}/{row.command}",
                json=self._open(row.body) if self._open else row.body,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            return await self._retry_later(conn, row, None, f"{type(exc).__name__}: {exc}")
        body = _json_or_text(response)
        if response.status_code < 300:
            return await self._finish(conn, row, ACCEPTED, response.status_code, body)
        if retryable(response.status_code):
            return await self._retry_later(
                conn, row, response.status_code, f"HTTP {response.status_code}: {body}"
            )
        return await self._finish(conn, row, REJECTED, response.status_code, body)

    async def _finish(
        self, conn: AsyncConnection, row: Any, outcome: str, status: int, body: Any
    ) -> Delivery:
        await conn.execute(
            text(
                "UPDATE command_outbox SET outcome = :outcome, status = :status,"
                " response = CAST(:response AS jsonb), delivered_at = now(),"
                " attempts = attempts + 1 WHERE id = :id"
            ),
            {
                "id": row.id,
                "outcome": outcome,
                "status": status,
                "response": orjson.dumps(body).decode(),
            },
        )
        DELIVERIES.labels(row.command, outcome).inc()
        _log.info("%s for case %s delivered: %s %s", row.command, row.case_id, status, outcome)
        if outcome == REJECTED:
            _log.warning(
                "case-service refused %s for case %s: %s %s", row.command, row.case_id, status, body
            )
        return Delivery(row.id, outcome, status, body)

    async def _retry_later(
        self, conn: AsyncConnection, row: Any, status: int | None, error: str
    ) -> Delivery:
        delay = self._backoff.delay(row.attempts + 1)
        await conn.execute(
            text(
                "UPDATE command_outbox SET attempts = attempts + 1, last_error = :error,"
                " next_attempt_at = now() + make_interval(secs => :delay) WHERE id = :id"
            ),
            {"id": row.id, "error": error[:2000], "delay": delay},
        )
        DELIVERIES.labels(row.command, "retry").inc()
        _log.warning("command %s for case %s will be retried: %s", row.id, row.case_id, error)
        return Delivery(row.id, PENDING, status, None, error)


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"text": response.text[:2000]}
