"""Guard decisions as stored for audit: written where a decision is given, read per case."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.policy import model as m
from contact_service.policy.profiles import Profile
from contact_service.readmodel.tables import DECISIONS

Row = dict[str, Any]
_COLUMNS = (
    "case_id",
    "decided_at",
    "at",
    "use",
    "asked_by",
    "party",
    "channel",
    "point_masked",
    "purpose",
    "direction",
    "allowed",
    "reasons",
    "next_allowed_at",
    "profile",
    "profile_version",
    "rules",
)

INSERT_DECISION = """
    INSERT INTO cs_decisions (case_id, decided_at, at, use, asked_by, party, channel,
      point_masked, purpose, direction, allowed, reasons, next_allowed_at, profile,
      profile_version, rules)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13, $14, $15,
      $16::text::jsonb)
"""


def decision_row(
    case_id: str,
    request: m.ContactRequest,
    decision: m.Decision,
    profile: Profile,
    *,
    use: str,
    asked_by: str | None,
    decided_at: datetime,
) -> tuple[Any, ...]:
    """The INSERT's arguments for one decision (each rule with its outcome and source)."""
    rules = [
        {"rule": rule, "outcome": outcome, "source": profile.source_of(rule)}
        for rule, outcome in decision.evaluated
    ]
    return (
        case_id,
        decided_at,
        request.at or decided_at,
        use,
        asked_by,
        request.party,
        request.channel,
        m.mask_point(request.contact_point),
        request.purpose,
        "inbound" if request.inbound else "outbound",
        decision.allowed,
        orjson.dumps([r.to_dict() for r in decision.reasons]).decode(),
        decision.next_allowed_at,
        decision.profile,
        decision.profile_version,
        orjson.dumps(rules).decode(),
    )


async def store_decisions(pool: asyncpg.Pool, rows: Sequence[tuple[Any, ...]]) -> None:
    """Store decisions over the plain asyncpg pool (the permission endpoints' path)."""
    if rows:
        await pool.executemany(INSERT_DECISION, rows)


async def decisions_of(conn: AsyncConnection, case_id: str, limit: int, offset: int) -> list[Row]:
    """The case's decisions, newest first."""
    result = await conn.execute(
        select(DECISIONS)
        .where(DECISIONS.c.case_id == case_id)
        .order_by(DECISIONS.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in result.mappings()]
