"""The command path's statements (a contact attempt or a promise), on one asyncpg connection.

A recorded outcome costs two round trips in one transaction, after the one that begins it
and locks the case row (`lock_case`): `COMMAND_INPUTS` reads the
guard's inputs together with the command this Idempotency-Key already queued (a resend), and
`queue_decided` writes the guard's decision, the command (arrears.outbox's `command_outbox`)
and, for an attempt, the pending attempt the guard counts at once, in one statement. After
the commit the command is sent at once (contact_service.forwarding); its answer is written
a moment later together with others' (`forwarding.Outcomes`). No SQLAlchemy on this path: it was most of the path's CPU.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import orjson

from contact_service.readmodel.repository.cases import (
    HISTORY_DAYS,
    POLICY_INPUTS_SQL,
    PolicyInputs,
    inputs_of_row,
)
from contact_service.readmodel.repository.decisions import INSERT_DECISION

# While the request that queued a command sends it, the background forwarder leaves the row
# alone (next_attempt_at is this far ahead); if the request dies, the forwarder sends it then.
SENDING_LEASE_SECONDS = 30.0

# What the command path reads of the case's row: the guard's view (derive.case_view) and the
# strategy and arm an attempt is recorded under; not `c.*`, whose other thirty columns (the
# installments' JSON above all) were decoded on every attempt for nothing.
COMMAND_COLUMNS = (
    "case_id", "timezone", "status", "candidate_timezones", "contactability", "flags",
    "opted_out_channels", "in_dispute", "open_complaints", "jurisdiction", "strategy", "arm",
)  # fmt: skip
COMMAND_INPUTS = (
    POLICY_INPUTS_SQL.replace(
        "SELECT c.*,", f"SELECT {', '.join('c.' + n for n in COMMAND_COLUMNS)},"
    )
    .replace(
        "    FROM cs_cases c WHERE",
        """,
      (SELECT json_build_array(o.id, o.body = $6::text::jsonb) FROM command_outbox o
        WHERE o.case_id = c.case_id AND o.command = $4 AND o.idempotency_key = $5
      ) AS queued_json
    FROM cs_cases c WHERE""",
    )
    .replace("c.case_id = ANY(:ids)", "c.case_id = $1")
    .replace(":since", "$2")
    .replace(":exclude", "$3::text")
)


async def lock_case(conn: asyncpg.Connection, case_id: str) -> None:
    """Begin the request's transaction and lock the case row until the decision and what it
    allowed are written: two commands to one case are decided one after the other, each
    counting the other's. The lock is its own statement, before the inputs are read: a
    statement that waited for a row lock keeps the snapshot it began with (READ COMMITTED),
    so inputs read by the locking statement would miss what the holder of the lock wrote.
    BEGIN and the lock go in one simple-protocol round trip (no parameters there: the case id
    is inlined, a canonical UUID by construction)."""
    literal = str(UUID(case_id))  # only hex digits and dashes, or ValueError
    await conn.execute(
        f"BEGIN; SELECT 1 FROM cs_cases WHERE case_id = '{literal}' FOR UPDATE"  # noqa: S608
    )


@asynccontextmanager
async def case_transaction(pool: asyncpg.Pool, case_id: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection in a transaction holding the case row's lock (`lock_case`): committed
    when the block ends, rolled back if it raises."""
    async with pool.acquire() as conn:
        await lock_case(conn, case_id)
        try:
            yield conn
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")


@dataclass(frozen=True)
class Queued:
    """The command an Idempotency-Key already queued; `same` if with the same body."""

    command_id: int
    same: bool


async def command_inputs(
    conn: asyncpg.Connection,
    case_id: str,
    now: datetime,
    *,
    command: str,
    key: str,
    body: dict[str, Any],
    exclude: str | None = None,
) -> tuple[PolicyInputs | None, Queued | None]:
    """The guard's inputs for the case (None: unknown case) and the command this key queued."""
    found = await conn.fetchrow(
        COMMAND_INPUTS,
        case_id,
        now - timedelta(days=HISTORY_DAYS),
        exclude,
        command,
        key,
        orjson.dumps(body).decode(),
    )
    if found is None:
        return None, None
    row = dict(found)
    queued_json = row.pop("queued_json")
    queued = None
    if queued_json is not None:
        command_id, same = orjson.loads(queued_json)
        queued = Queued(int(command_id), bool(same))
    return inputs_of_row(row), queued


_QUEUE = """
    WITH earlier AS (
      -- an earlier command to this case still on its way: this one waits its turn ($22:
      -- answered already, the answer not yet written: forwarding.Outcomes)
      SELECT EXISTS (SELECT 1 FROM command_outbox p
                     WHERE p.case_id = $1 AND p.delivered_at IS NULL
                       AND p.id <> ALL($22::bigint[])) AS behind
    ), decision AS (
      INSERT INTO cs_decisions (case_id, decided_at, at, use, asked_by, party, channel,
        point_masked, purpose, direction, allowed, reasons, next_allowed_at, profile,
        profile_version, rules)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13, $14, $15,
        $16::text::jsonb)
    ), queued AS (
      INSERT INTO command_outbox
        (case_id, command, idempotency_key, body, correlation_id, next_attempt_at)
      SELECT $1, $17, $18, $19::text::jsonb, $20::text,
             CASE WHEN e.behind THEN now() ELSE now() + make_interval(secs => $21) END
      FROM earlier e
      ON CONFLICT (case_id, command, idempotency_key) DO NOTHING
      RETURNING id
    ){attempt}
    SELECT q.id, e.behind FROM earlier e LEFT JOIN queued q ON true
"""
_ATTEMPT = """, attempt AS (
      INSERT INTO cs_attempts (case_id, fingerprint, version, occurred_at, channel, party,
        point, point_masked, outcome, inbound, agent_id, recording_ref, strategy, arm,
        command_id)
      SELECT $1, $23::text, NULL, $24::timestamptz, $25::text, $26::text, $27::text,
             $28::text, $29::text, $30::boolean, $31::text, $32::text, $33::text, $34::text,
             q.id
      FROM queued q
      ON CONFLICT DO NOTHING
    )
"""
QUEUE_PROMISE = _QUEUE.format(attempt="\n")
QUEUE_ATTEMPT = _QUEUE.format(attempt=_ATTEMPT)
_QUEUED = (
    "SELECT id, body = $4::text::jsonb AS same FROM command_outbox"
    " WHERE case_id = $1 AND command = $2 AND idempotency_key = $3"
)


@dataclass(frozen=True)
class Queueing:
    """What `queue_decided` wrote: the command's id (None: this key was queued meanwhile by
    a concurrent request) and whether an earlier command to the case is still on its way."""

    command_id: int | None
    behind: bool


async def queue_decided(
    conn: asyncpg.Connection,
    decision: tuple[Any, ...],
    *,
    command: str,
    key: str,
    body: dict[str, Any],
    correlation_id: str | None,
    attempt: tuple[Any, ...] | None = None,
    answered: list[int] | None = None,
) -> Queueing:
    """The decision, the command and (for an attempt) the pending attempt, in one statement.
    `attempt` is (fingerprint, occurred_at, channel, party, point, point_masked, outcome,
    inbound, agent_id, recording_ref, strategy, arm); `answered`, the commands whose answer
    has come but is not yet written (they are not "on their way")."""
    args = (
        *decision,
        command,
        key,
        orjson.dumps(body).decode(),
        correlation_id,
        SENDING_LEASE_SECONDS,
        answered or [],
    )
    if attempt is None:
        found = await conn.fetchrow(QUEUE_PROMISE, *args)
    else:
        found = await conn.fetchrow(QUEUE_ATTEMPT, *args, *attempt)
    command_id = found["id"]
    return Queueing(None if command_id is None else int(command_id), bool(found["behind"]))


async def queued_meanwhile(
    conn: asyncpg.Connection, case_id: str, command: str, key: str, body: dict[str, Any]
) -> Queued | None:
    """The command a concurrent request with the same key queued (rare)."""
    found = await conn.fetchrow(_QUEUED, case_id, command, key, orjson.dumps(body).decode())
    return None if found is None else Queued(int(found["id"]), bool(found["same"]))


async def store_decision(conn: asyncpg.Connection, decision: tuple[Any, ...]) -> None:
    """A refused decision, alone (the request writes nothing else)."""
    await conn.execute(INSERT_DECISION, *decision)
