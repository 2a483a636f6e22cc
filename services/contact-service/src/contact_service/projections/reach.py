"""Where and under which rules the borrower is reached: jurisdiction, candidate zones and
contact points, projected from their case events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from arrears.messaging import Envelope
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service import sealing
from contact_service.policy import model as m
from contact_service.projections.store import Row, driver
from contact_service.tasks import ContactTask

Handler = Callable[[AsyncConnection, Envelope, Row], Awaitable[Sequence[ContactTask] | None]]

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


async def jurisdiction_changed(conn: AsyncConnection, e: Envelope, row: Row) -> None:  # noqa: ARG001
    row["jurisdiction"] = str(e.data["to_jurisdiction"])


async def contact_point_added(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    d = e.data
    owner = str(d["owner"])
    zone = str(d["timezone"]) if d.get("timezone") else None
    raw = await driver(conn)
    await raw.execute(
        _ADD_POINT,
        row["case_id"],
        m.point_key(str(d["contact_point"])),
        owner,
        str(d.get("kind") or "mobile"),
        50 + int(e.caseversion or 0),  # after the points the case opened with
        zone,
        sealing.seal(m.normal_point(str(d["contact_point"]))),
        m.mask_point(str(d["contact_point"])),
    )
    row["parties"] = sorted({*(row.get("parties") or []), owner})
    if zone is not None:
        _add_zone(row, zone)


async def timezone_candidate_added(conn: AsyncConnection, e: Envelope, row: Row) -> None:
    zone = str(e.data["timezone"])
    raw = await driver(conn)
    await raw.execute(_ADD_ZONE, zone)
    _add_zone(row, zone)


REACH_HANDLERS: dict[str, Handler] = {
    "JurisdictionChanged": jurisdiction_changed,
    "ContactPointAdded": contact_point_added,
    "TimezoneCandidateAdded": timezone_candidate_added,
}
