"""Where and under which rules the borrower is reached: jurisdiction, candidate zones and
contact points, projected from their case events."""

from __future__ import annotations

from arrears.events import catalogue as ev
from arrears.messaging import Envelope
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.policy import model as m
from contact_service.projections.store import Handler, Row, driver, typed

# The owner and kind are the case's record: they replace whatever was known of the number.
_ADD_POINT = """
    WITH zone AS (
      INSERT INTO cs_zones (zone) SELECT $6::text WHERE $6::text IS NOT NULL
      ON CONFLICT DO NOTHING
    )
    INSERT INTO cs_contact_points
      (case_id, value, party, kind, state, opted_out, position, sealed, masked)
    VALUES ($1, $2, $3, $4, 'valid', '{}', $5, $7, $8)
    ON CONFLICT (case_id, value) DO UPDATE SET party = EXCLUDED.party, kind = EXCLUDED.kind
"""
_ADD_ZONE = "INSERT INTO cs_zones (zone) VALUES ($1) ON CONFLICT DO NOTHING"


def _add_zone(row: Row, zone: str) -> None:
    zones = list(row.get("candidate_timezones") or [])
    if zone != row["timezone"] and zone not in zones:
        row["candidate_timezones"] = [*zones, zone]


async def jurisdiction_changed(
    conn: AsyncConnection,  # noqa: ARG001
    e: Envelope,  # noqa: ARG001
    row: Row,
    d: ev.JurisdictionChanged,
) -> None:
    row["jurisdiction"] = d.to_jurisdiction


async def contact_point_added(
    conn: AsyncConnection, e: Envelope, row: Row, d: ev.ContactPointAdded
) -> None:
    number = str(d.contact_point)  # opened by the projection (arrears.messaging.personal)
    zone = d.timezone or None
    raw = await driver(conn)
    await raw.execute(
        _ADD_POINT,
        row["case_id"],
        m.point_key(number),
        d.owner,
        d.kind or "mobile",
        50 + int(e.caseversion or 0),  # after the points the case opened with
        zone,
        sealing.seal(m.normal_point(number)),
        m.mask_point(number),
    )
    row["parties"] = sorted({*(row.get("parties") or []), d.owner})
    if zone is not None:
        _add_zone(row, zone)


async def timezone_candidate_added(
    conn: AsyncConnection,
    e: Envelope,  # noqa: ARG001
    row: Row,
    d: ev.TimezoneCandidateAdded,
) -> None:
    raw = await driver(conn)
    await raw.execute(_ADD_ZONE, d.timezone)
    _add_zone(row, d.timezone)


# (event name, handler) pairs: the projection's HANDLERS take them in.
REACH_HANDLERS: tuple[tuple[str, Handler], ...] = (
    typed(ev.JurisdictionChanged, jurisdiction_changed),
    typed(ev.ContactPointAdded, contact_point_added),
    typed(ev.TimezoneCandidateAdded, timezone_candidate_added),
)
