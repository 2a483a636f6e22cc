"""How the projection talks to PostgreSQL: the row cache of a transaction, the statements
it sends straight to asyncpg, and the identity of a contact attempt."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, TypeVar

import orjson
from arrears.db import driver as asyncpg_driver
from arrears.events import CaseEventData, EventDataError
from arrears.messaging import Envelope, PoisonError, event_time
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.policy import model as m
from contact_service.readmodel.tables import CASES
from contact_service.tasks import ContactTask

Row = dict[str, Any]
D = TypeVar("D", bound=CaseEventData)
# A handler changes the case's row and its own tables, and returns the tasks it decides (the
# projection records and emits them).
Handler = Callable[[AsyncConnection, Envelope, Row], Awaitable[Sequence[ContactTask] | None]]
# What a handler is written as: it reads the event's data as its typed class (arrears.events,
# generated from the catalogue's schemas), so a renamed or retyped field fails mypy.
TypedHandler = Callable[
    [AsyncConnection, Envelope, Row, D], Awaitable[Sequence[ContactTask] | None]
]


def typed(event: type[D], handler: TypedHandler[D]) -> tuple[str, Handler]:
    """The handler under its event's name, reading the data as `event`; data without what
    the catalogue promises can never be applied: parked at once (PoisonError)."""

    async def run(
        conn: AsyncConnection, envelope: Envelope, row: Row
    ) -> Sequence[ContactTask] | None:
        try:
            data = event.read(envelope.data)
        except EventDataError as exc:
            raise PoisonError(str(exc)) from exc
        return await handler(conn, envelope, row, data)

    return event.event_name, run


def fingerprint(
    case_id: str, channel: str, party: str, point: str, outcome: str, occurred_at: datetime
) -> str:
    """The identity of one contact attempt (the same from the API and from the event)."""
    moment = occurred_at.astimezone(UTC).isoformat()
    text = f"{case_id}|{channel}|{party}|{m.point_key(point)}|{outcome}|{moment}"
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def rows_of_this_transaction(conn: AsyncConnection) -> dict[str, Row]:
    """Case rows this transaction has read or written (a batch touches a case many times:
    one SELECT ... FOR UPDATE per case per batch). Cleared by a new transaction."""
    sync = conn.sync_connection
    assert sync is not None
    transaction = sync.get_transaction()
    held = sync.info.get("contact_service.rows")
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        sync.info["contact_service.rows"] = held
    rows: dict[str, Row] = held[1]
    return rows


# A batch's cases, read straight on asyncpg (`fetch_cases`): through SQLAlchemy the greenlet
# hop and its result processing were 13% of the batch handler; every column but the jsonb
# one arrives from asyncpg as SQLAlchemy would hand it back.
_CASES_FOR_UPDATE_RAW = (
    "SELECT * FROM cs_cases WHERE case_id = ANY($1::text[]) ORDER BY case_id FOR UPDATE"
)


async def fetch_cases(conn: AsyncConnection, ids: Sequence[str]) -> list[Row]:
    """The cases `ids` (sorted: locks taken in one order), locked FOR UPDATE, as rows."""
    raw = await asyncpg_driver(conn)
    found: list[Row] = []
    for record in await raw.fetch(_CASES_FOR_UPDATE_RAW, list(ids)):
        row = dict(record)
        installments = row.get("installments")
        if isinstance(installments, str | bytes):  # the jsonb codec hands back JSON text
            row["installments"] = orjson.loads(installments)
        found.append(row)
    return found


@lru_cache(maxsize=256)
def update_sql(columns: tuple[str, ...]) -> str:
    """`UPDATE cs_cases SET <columns> WHERE case_id = $n`, built once per set of columns."""
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=1))
    return f"UPDATE cs_cases SET {assignments} WHERE case_id = ${len(columns) + 1}"  # noqa: S608


def db_value(name: str, value: Any) -> Any:
    # The asyncpg codec SQLAlchemy installs for jsonb takes JSON text.
    return orjson.dumps(value).decode() if name == "installments" else value


class Deferred:
    """The asyncpg connection as a batch (`Projection.handle_batch`) hands it to handlers:
    `execute` queues the statement, and the queue runs in order, each run of one statement
    as one `executemany` (pipelined: one round trip for many events). Anything that reads
    runs the queue first."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.queued: list[tuple[str, tuple[Any, ...]]] = []

    async def execute(self, sql: str, *args: Any) -> None:
        self.queued.append((sql, args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self.flush()
        return await self.raw.fetchval(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> Any:
        await self.flush()
        return await self.raw.fetch(sql, *args)

    async def flush(self) -> None:
        queued, self.queued = self.queued, []
        at = 0
        while at < len(queued):
            sql = queued[at][0]
            end = at + 1
            while end < len(queued) and queued[end][0] == sql:
                end += 1
            if end - at == 1:
                await self.raw.execute(sql, *queued[at][1])
            else:
                await self.raw.executemany(sql, [args for _, args in queued[at:end]])
            at = end


_DEFERRED = "contact_service.deferred"


def deferred_of(conn: AsyncConnection) -> Deferred | None:
    """The batch's queue, if `conn`'s transaction is running one."""
    sync = conn.sync_connection
    assert sync is not None
    held = sync.info.get(_DEFERRED)
    if held is None or held[0] is not sync.get_transaction():
        return None
    found: Deferred = held[1]
    return found


def set_deferred(conn: AsyncConnection, deferred: Deferred | None) -> None:
    sync = conn.sync_connection
    assert sync is not None
    if deferred is None:
        sync.info.pop(_DEFERRED, None)
    else:
        sync.info[_DEFERRED] = (sync.get_transaction(), deferred)


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside `conn`'s transaction: the projection's
    hot statements go straight to it (no expression building or result wrapping). Inside a
    batch, the batch's queue (`Deferred`) instead."""
    deferred = deferred_of(conn)
    if deferred is not None:
        return deferred
    return await asyncpg_driver(conn)


def day_of(envelope: Envelope) -> date:
    moment = event_time(envelope)
    # An event's time is UTC as case-service writes it: its date without a converted copy.
    return moment.date() if moment.tzinfo is UTC else moment.astimezone(UTC).date()


CASE_COLUMNS = tuple(c.name for c in CASES.c)  # in the table's order
_N = len(CASE_COLUMNS)
# The case and its contact points in one round trip (the points only if the case is new).
OPEN_CASE = f"""
    WITH opened AS (
      INSERT INTO cs_cases ({", ".join(CASE_COLUMNS)})
      VALUES ({", ".join(f"${i}" for i in range(1, _N + 1))})
      ON CONFLICT DO NOTHING RETURNING case_id
    ), zones AS (
      INSERT INTO cs_zones (zone) SELECT DISTINCT z FROM opened,
        unnest(array_prepend(${_N + 5}::text, ${_N + 6}::text[])) AS z
      ON CONFLICT DO NOTHING
    ), points AS (
      INSERT INTO cs_contact_points
        (case_id, value, party, kind, state, opted_out, position, sealed, masked)
      SELECT o.case_id, t.value, t.party, t.kind, 'valid', '{{}}', t.position, t.sealed, t.masked
      FROM opened o, unnest(${_N + 1}::text[], ${_N + 2}::text[], ${_N + 3}::text[],
                            ${_N + 4}::int[], ${_N + 7}::text[], ${_N + 8}::text[])
                     AS t(value, party, kind, position, sealed, masked)
      ON CONFLICT DO NOTHING
    )
    SELECT count(*) FROM opened
"""  # noqa: S608


def new_point(case_id: str, value: str, party: str, kind: Any, position: int) -> Row:
    text = str(value).strip()
    normal = m.normal_point(text)
    return {
        "case_id": case_id,
        # The blind index (`m.point_key`, without its cache: a rebuild's numbers are new);
        # the number itself only sealed.
        "value": text if sealing.is_index(text) else sealing.index(normal),
        "sealed": sealing.seal(normal),
        "masked": m.mask_point(text),
        "party": party,
        "kind": str(kind or "mobile"),
        "state": m.VALID,
        "opted_out": [],
        "position": position,
    }
