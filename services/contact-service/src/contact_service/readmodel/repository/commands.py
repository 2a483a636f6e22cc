"""The command path's statements (a contact attempt or a promise), on one asyncpg connection.

Two commands to one case are decided one after the other, each on what the other wrote.
A recorded outcome costs two round trips (`CheckedCase`): `COMMAND_INPUTS` reads the guard's
inputs together with the command this Idempotency-Key already queued (a resend) and a digest
of them, without the case's lock; then one statement writes the guard's decision, the
command (arrears.outbox's `command_outbox`) and, for an attempt, the pending attempt the
guard counts at once, after `cs_check_inputs` (migration 0006) took the case's lock and found
the inputs' digest unchanged. If they changed meanwhile the statement writes nothing
(`InputsChanged`) and the request decides again the pessimistic way (`LockedCase`): a
transaction that locks the case row first (`lock_case`), then reads and writes as above, in
four round trips. After the commit the command is sent at once (contact_service.forwarding);
its answer is written a moment later together with others' (`forwarding.Outcomes`). No
SQLAlchemy on this path: it was most of the path's CPU.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
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
# The same with a digest of what the guard reads (the row's JSON), read without the lock;
# `cs_check_inputs` (migration 0006) reads it again so under the lock (the same query, its
# parameters named: test_checked_write.py holds the two together).
INPUTS_WITH_DIGEST = (
    f"SELECT q.*, md5(row_to_json(q)::text) AS inputs_digest FROM ({COMMAND_INPUTS}) q"  # noqa: S608
)
# cs_check_inputs' SQLSTATE when the inputs changed: nothing of the statement was written.
INPUTS_CHANGED = "AR001"


class InputsChanged(Exception):
    """The guard's inputs changed between their reading and the checked write."""


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
    inputs, queued, _ = await _read_inputs(
        conn, COMMAND_INPUTS, case_id, _since(now), exclude, command, key, _json(body)
    )
    return inputs, queued


def _since(now: datetime) -> datetime:
    return now - timedelta(days=HISTORY_DAYS)


def _json(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


async def _read_inputs(
    conn: asyncpg.Connection, sql: str, *args: Any
) -> tuple[PolicyInputs | None, Queued | None, str | None]:
    """`COMMAND_INPUTS` (or `INPUTS_WITH_DIGEST`, then with its digest) as the guard takes it."""
    found = await conn.fetchrow(sql, *args)
    if found is None:
        return None, None, None
    row = dict(found)
    digest = row.pop("inputs_digest", None)
    queued_json = row.pop("queued_json")
    queued = None
    if queued_json is not None:
        command_id, same = orjson.loads(queued_json)
        queued = Queued(int(command_id), bool(same))
    return inputs_of_row(row), queued, digest


# `behind`: an earlier command to this case still on its way, so this one waits its turn
# ($22: answered already, the answer not yet written: forwarding.Outcomes). Read in the
# statement (`LockedCase`, under the lock already), or by `cs_check_inputs` after it took
# the lock and found the guard's inputs unchanged (`CheckedCase`): its three parameters
# (the digest, since, exclude) follow the statement's own (`_checked`).
_BEHIND = """SELECT EXISTS (SELECT 1 FROM command_outbox p
                     WHERE p.case_id = $1 AND p.delivered_at IS NULL
                       AND p.id <> ALL($22::bigint[])) AS behind"""
_QUEUE = """
    WITH earlier AS MATERIALIZED ({behind}), decision AS (
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


def _checked(first: int) -> str:
    digest, since, exclude = (f"${i}" for i in range(first, first + 3))
    return (
        f"SELECT cs_check_inputs($1, {digest}, {since}::timestamptz, {exclude}::text, $17, $18,"
        " $19::text, $22::bigint[]) AS behind"
    )


QUEUE_PROMISE = _QUEUE.format(behind=_BEHIND, attempt="\n")
QUEUE_ATTEMPT = _QUEUE.format(behind=_BEHIND, attempt=_ATTEMPT)
CHECKED_QUEUE_PROMISE = _QUEUE.format(behind=_checked(23), attempt="\n")
CHECKED_QUEUE_ATTEMPT = _QUEUE.format(behind=_checked(35), attempt=_ATTEMPT)
# A refusal, alone, after the same check ($17...: the digest, since, exclude, command, key,
# body, and no answered commands).
_CHECK_ALONE = (
    "WITH checked AS MATERIALIZED (SELECT cs_check_inputs($1, $17, $18::timestamptz,"
    " $19::text, $20, $21, $22::text, ARRAY[]::bigint[]) AS behind)"
)
CHECKED_DECISION = f"{_CHECK_ALONE}, d AS ({INSERT_DECISION}) SELECT behind FROM checked"  # noqa: S608
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


async def _queue(
    conn: asyncpg.Connection,
    decision: tuple[Any, ...],
    check: tuple[Any, ...],
    command: str,
    key: str,
    body: dict[str, Any],
    correlation_id: str | None,
    attempt: tuple[Any, ...] | None,
    answered: list[int] | None,
) -> Queueing:
    """`CaseCommands.queue_decided`; with `check` (the digest, since, exclude), only if
    `cs_check_inputs` finds the inputs unchanged."""
    args = (
        *decision,
        command,
        key,
        _json(body),
        correlation_id,
        SENDING_LEASE_SECONDS,
        answered or [],
    )
    if attempt is None:
        sql = CHECKED_QUEUE_PROMISE if check else QUEUE_PROMISE
        found = await _checking(conn.fetchrow(sql, *args, *check))
    else:
        sql = CHECKED_QUEUE_ATTEMPT if check else QUEUE_ATTEMPT
        found = await _checking(conn.fetchrow(sql, *args, *attempt, *check))
    command_id = found["id"]
    return Queueing(None if command_id is None else int(command_id), bool(found["behind"]))


async def _checking(statement: Awaitable[Any]) -> Any:
    """A checked statement's result; `InputsChanged` if the check found the inputs changed."""
    try:
        return await statement
    except asyncpg.PostgresError as exc:
        if getattr(exc, "sqlstate", None) == INPUTS_CHANGED:
            raise InputsChanged(str(exc)) from exc
        raise


async def queued_meanwhile(
    conn: asyncpg.Connection, case_id: str, command: str, key: str, body: dict[str, Any]
) -> Queued | None:
    """The command a concurrent request with the same key queued (rare)."""
    found = await conn.fetchrow(_QUEUED, case_id, command, key, _json(body))
    return None if found is None else Queued(int(found["id"]), bool(found["same"]))


async def store_decision(conn: asyncpg.Connection, decision: tuple[Any, ...]) -> None:
    """A refused decision, alone (the request writes nothing else)."""
    await conn.execute(INSERT_DECISION, *decision)


class CaseCommands(Protocol):
    """Where a command to one case is decided and written: `LockedCase` or `CheckedCase`."""

    async def inputs(
        self, *, command: str, key: str, body: dict[str, Any], exclude: str | None = None
    ) -> tuple[PolicyInputs | None, Queued | None]: ...

    async def store_decision(self, decision: tuple[Any, ...]) -> None: ...

    async def queue_decided(
        self,
        decision: tuple[Any, ...],
        *,
        command: str,
        key: str,
        body: dict[str, Any],
        correlation_id: str | None,
        attempt: tuple[Any, ...] | None = None,
        answered: list[int] | None = None,
    ) -> Queueing:
        """The decision, the command and (for an attempt) the pending attempt, in one
        statement. `attempt` is (fingerprint, occurred_at, channel, party, point,
        point_masked, outcome, inbound, agent_id, recording_ref, strategy, arm); `answered`,
        the commands whose answer has come but is not yet written (not "on their way")."""
        ...

    async def queued_meanwhile(
        self, command: str, key: str, body: dict[str, Any]
    ) -> Queued | None: ...


@dataclass
class LockedCase:
    """In a transaction holding the case row's lock (`case_transaction`)."""

    conn: asyncpg.Connection
    case_id: str
    now: datetime

    async def inputs(
        self, *, command: str, key: str, body: dict[str, Any], exclude: str | None = None
    ) -> tuple[PolicyInputs | None, Queued | None]:
        return await command_inputs(
            self.conn, self.case_id, self.now, command=command, key=key, body=body,
            exclude=exclude,
        )  # fmt: skip

    async def store_decision(self, decision: tuple[Any, ...]) -> None:
        await store_decision(self.conn, decision)

    async def queue_decided(
        self,
        decision: tuple[Any, ...],
        *,
        command: str,
        key: str,
        body: dict[str, Any],
        correlation_id: str | None,
        attempt: tuple[Any, ...] | None = None,
        answered: list[int] | None = None,
    ) -> Queueing:
        return await _queue(
            self.conn, decision, (), command, key, body, correlation_id, attempt, answered
        )

    async def queued_meanwhile(self, command: str, key: str, body: dict[str, Any]) -> Queued | None:
        return await queued_meanwhile(self.conn, self.case_id, command, key, body)


@dataclass
class CheckedCase:
    """Without a transaction: the inputs read without the lock, each write checked
    (`cs_check_inputs`) and done in one statement; `InputsChanged` from a write if the
    inputs changed (nothing written: decide again with `LockedCase`)."""

    conn: asyncpg.Connection
    case_id: str
    now: datetime
    check: tuple[Any, ...] = ()  # the write's check: digest, since, exclude
    read: tuple[Any, ...] = ()  # command, key, body: what the inputs were read with

    async def inputs(
        self, *, command: str, key: str, body: dict[str, Any], exclude: str | None = None
    ) -> tuple[PolicyInputs | None, Queued | None]:
        since, sealed = _since(self.now), _json(body)
        inputs, queued, digest = await _read_inputs(
            self.conn, INPUTS_WITH_DIGEST, self.case_id, since, exclude, command, key, sealed
        )
        self.check = (digest, since, exclude)
        self.read = (command, key, sealed)
        return inputs, queued

    async def store_decision(self, decision: tuple[Any, ...]) -> None:
        await _checking(self.conn.execute(CHECKED_DECISION, *decision, *self.check, *self.read))

    async def queue_decided(
        self,
        decision: tuple[Any, ...],
        *,
        command: str,
        key: str,
        body: dict[str, Any],
        correlation_id: str | None,
        attempt: tuple[Any, ...] | None = None,
        answered: list[int] | None = None,
    ) -> Queueing:
        # The check reads with this command, key and body: if they are not what the inputs
        # were read with, the digest differs and nothing is written.
        return await _queue(
            self.conn, decision, self.check, command, key, body, correlation_id, attempt,
            answered,
        )  # fmt: skip

    async def queued_meanwhile(self, command: str, key: str, body: dict[str, Any]) -> Queued | None:
        return await queued_meanwhile(self.conn, self.case_id, command, key, body)


@asynccontextmanager
async def checked_case(
    pool: asyncpg.Pool, case_id: str, now: datetime
) -> AsyncIterator[CheckedCase]:
    """A `CheckedCase` on one connection of `pool` (no transaction: each statement alone)."""
    async with pool.acquire() as conn:
        yield CheckedCase(conn, case_id, now)


@asynccontextmanager
async def locked_case(pool: asyncpg.Pool, case_id: str, now: datetime) -> AsyncIterator[LockedCase]:
    """A `LockedCase` in `case_transaction`."""
    async with case_transaction(pool, case_id) as conn:
        yield LockedCase(conn, case_id, now)
