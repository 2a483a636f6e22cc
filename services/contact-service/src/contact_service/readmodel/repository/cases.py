"""Queries on cases, their contact points and history, and restrictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import JSON, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy import model as m
from contact_service.readmodel import derive
from contact_service.readmodel.tables import (
    CASES,
    POINTS,
    RESTRICTIONS,
)

HISTORY_DAYS = 8  # the guard looks back 7 local days; one more for time zones

Row = dict[str, Any]


# --- cases, points, history -----------------------------------------------------------


async def get_case(conn: AsyncConnection, case_id: str) -> Row | None:
    found = (await conn.execute(select(CASES).where(CASES.c.case_id == case_id))).mappings()
    row = found.first()
    return dict(row) if row else None


async def points_of(conn: AsyncConnection, case_ids: Sequence[str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {c: [] for c in case_ids}
    result = await conn.execute(
        select(POINTS)
        .where(POINTS.c.case_id.in_(list(case_ids)))
        .order_by(POINTS.c.case_id, POINTS.c.position, POINTS.c.value)
    )
    for row in result.mappings():
        out[row["case_id"]].append(dict(row))
    return out


@dataclass(frozen=True)
class PolicyInputs:
    row: Row
    view: m.CaseView
    history: list[m.Attempt]
    points: list[Row]


POLICY_INPUTS_SQL = """
    SELECT c.*,
      (SELECT coalesce(json_agg(json_build_object(
                'value', p.value, 'party', p.party, 'kind', p.kind, 'state', p.state,
                'opted_out', p.opted_out, 'sealed', p.sealed, 'masked', p.masked)
                ORDER BY p.position, p.value), '[]'::json)
         FROM cs_contact_points p WHERE p.case_id = c.case_id) AS points_json,
      (SELECT coalesce(json_agg(json_build_object(
                'occurred_at', a.occurred_at, 'channel', a.channel, 'party', a.party,
                'point', a.point, 'outcome', a.outcome, 'inbound', a.inbound,
                'masked', a.point_masked)
                ORDER BY a.occurred_at), '[]'::json)
         FROM cs_attempts a
        WHERE a.case_id = c.case_id
          AND (a.occurred_at >= :since OR a.outcome = 'third_party_contact')
          AND a.fingerprint IS DISTINCT FROM :exclude
          AND (a.version IS NOT NULL OR a.command_id IS NULL OR NOT EXISTS (
                SELECT 1 FROM command_outbox o
                WHERE o.id = a.command_id AND o.outcome = 'rejected'))) AS history_json
    FROM cs_cases c WHERE c.case_id = ANY(:ids)
    """
_POLICY_INPUTS = text(POLICY_INPUTS_SQL).columns(
    installments=JSONB, points_json=JSON, history_json=JSON
)


async def policy_inputs(
    conn: AsyncConnection, case_ids: Sequence[str], now: datetime, exclude: str | None = None
) -> dict[str, PolicyInputs]:
    """Case rows with their contact points and recent history: one round trip."""
    if not case_ids:
        return {}
    result = await conn.execute(
        _POLICY_INPUTS,
        {"ids": list(case_ids), "since": now - timedelta(days=HISTORY_DAYS), "exclude": exclude},
    )
    out: dict[str, PolicyInputs] = {}
    for found in result.mappings():
        row = dict(found)
        points = row.pop("points_json")
        history = [
            derive.attempt({**a, "occurred_at": datetime.fromisoformat(a["occurred_at"])})
            for a in row.pop("history_json")
        ]
        out[row["case_id"]] = PolicyInputs(row, derive.case_view(row, points), history, points)
    return out


_ONE_CASE_SQL = (
    POLICY_INPUTS_SQL.replace("c.case_id = ANY(:ids)", "c.case_id = $1")
    .replace(":since", "$2")
    .replace(":exclude", "$3::text")
)


_MANY_CASES_SQL = (
    POLICY_INPUTS_SQL.replace(":ids", "$1::text[]")
    .replace(":since", "$2")
    .replace(":exclude", "$3::text")
)


def inputs_of_row(found: Any) -> PolicyInputs:
    row = dict(found)
    points = orjson.loads(row.pop("points_json"))
    history = [
        derive.attempt({**a, "occurred_at": datetime.fromisoformat(a["occurred_at"])})
        for a in orjson.loads(row.pop("history_json"))
    ]
    return PolicyInputs(row, derive.case_view(row, points), history, points)


async def policy_inputs_many(
    pool: asyncpg.Pool, case_ids: Sequence[str], now: datetime
) -> dict[str, PolicyInputs]:
    """`policy_inputs` for many cases over the plain asyncpg pool: one round trip."""
    found = await pool.fetch(
        _MANY_CASES_SQL, sorted(set(case_ids)), now - timedelta(days=HISTORY_DAYS), None
    )
    return {r["case_id"]: inputs_of_row(r) for r in found}


async def policy_inputs_one(
    pool: asyncpg.Pool, case_id: str, now: datetime, exclude: str | None = None
) -> PolicyInputs | None:
    """`policy_inputs` for one case over a plain asyncpg pool (the guard endpoint's path)."""
    found = await pool.fetchrow(_ONE_CASE_SQL, case_id, now - timedelta(days=HISTORY_DAYS), exclude)
    return None if found is None else inputs_of_row(found)


# --- restrictions ---------------------------------------------------------------------


async def set_flag(conn: AsyncConnection, case_id: str, flag: str, on: bool) -> None:
    column = CASES.c.flags
    value = (
        func.array_append(func.array_remove(column, flag), flag)
        if on
        else func.array_remove(column, flag)
    )
    await conn.execute(update(CASES).where(CASES.c.case_id == case_id).values(flags=value))


async def set_channel_opt_out(conn: AsyncConnection, case_id: str, channel: str, on: bool) -> None:
    column = CASES.c.opted_out_channels
    value = (
        func.array_append(func.array_remove(column, channel), channel)
        if on
        else func.array_remove(column, channel)
    )
    await conn.execute(
        update(CASES).where(CASES.c.case_id == case_id).values(opted_out_channels=value)
    )


async def set_point_state(conn: AsyncConnection, case_id: str, point: str, state: str) -> bool:
    result = await conn.execute(
        update(POINTS)
        .where(POINTS.c.case_id == case_id, POINTS.c.value == m.point_key(point))
        .values(state=state)
    )
    return bool(result.rowcount)


CASE_FLAG_KINDS = frozenset(m.CASE_FLAGS)
POINT_KINDS = {
    "wrong_number": m.WRONG_NUMBER,
    "point_do_not_contact": m.DO_NOT_CONTACT,
    "point_valid": m.VALID,
}


async def apply_restriction(
    conn: AsyncConnection,
    case_id: str,
    kind: str,
    active: bool,
    channel: str | None,
    contact_point: str | None,
) -> bool:
    """Set a flag, an opt-out or a point's state; False if the contact point is unknown."""
    if kind in CASE_FLAG_KINDS:
        await set_flag(conn, case_id, kind, active)
    elif kind == "opt_out" and channel is not None:
        await set_channel_opt_out(conn, case_id, channel, active)
    elif kind in POINT_KINDS and contact_point is not None:
        state = POINT_KINDS[kind] if active else m.VALID
        return await set_point_state(conn, case_id, contact_point, state)
    return True


async def log_restriction(conn: AsyncConnection, values: Row) -> None:
    await conn.execute(insert(RESTRICTIONS).values(**values))


async def restrictions_in_order(conn: AsyncConnection) -> list[Row]:
    result = await conn.execute(select(RESTRICTIONS).order_by(RESTRICTIONS.c.id))
    return [dict(r) for r in result.mappings()]


async def refresh_derived(conn: AsyncConnection, row: Row, blocked: bool, day: date) -> None:
    await conn.execute(
        update(CASES)
        .where(CASES.c.case_id == row["case_id"])
        .values(blocked=blocked, priority=derive.priority(row, day))
    )
