"""`PersonalDataErased`: the case's retention ended at case-service, so contact-service drops
what it kept of the case's personal data too (it seals with its own key, so destroying the
subject's key at case-service would not reach it): sealed numbers and the address, masked
forms, and the blind indexes (with the service's key a guessed number could be confirmed
against them). The facts stay: attempts, restrictions and decisions keep what, when and by
whom, with the number replaced by "[erased]"."""

from __future__ import annotations

from arrears.events import catalogue as ev
from arrears.messaging import Envelope
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from contact_service.projections.store import Row

ERASED = "[erased]"
_STATEMENTS = (
    "UPDATE cs_contact_points SET value = 'erased:' || gen_random_uuid(), sealed = NULL,"
    " masked = '[erased]' WHERE case_id = :case_id",
    "UPDATE cs_attempts SET point = '[erased]', point_masked = '[erased]',"
    " fingerprint = 'erased:' || id WHERE case_id = :case_id",
    "UPDATE cs_restrictions SET contact_point = '[erased]', note = NULL"
    " WHERE case_id = :case_id AND (contact_point IS NOT NULL OR note IS NOT NULL)",
    "UPDATE cs_decisions SET point_masked = '[erased]' WHERE case_id = :case_id",
    "UPDATE command_outbox SET body = body - 'contact_point' - 'notes' WHERE case_id = :case_id",
    "UPDATE task_outbox SET envelope = envelope #- '{data,contact_point}' #- '{data,to}'"
    " #- '{data,address}' #- '{data,to_masked}' #- '{data,contact_point_masked}'"
    " WHERE key = :case_id",
)


async def personal_data_erased(
    conn: AsyncConnection, _e: Envelope, row: Row, _d: ev.PersonalDataErased
) -> None:
    for statement in _STATEMENTS:
        await conn.execute(text(statement), {"case_id": row["case_id"]})
    row["address"] = None
