"""The asyncpg connection under a SQLAlchemy AsyncConnection, for the hottest statements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, inside `conn`'s transaction: statements sent to
    it are prepared once per connection, with no expression building or result wrapping."""
    fairy = await conn.get_raw_connection()
    if getattr(fairy.dbapi_connection, "_transaction", True) is None:
        await conn.execute(text("SELECT 1"))  # SQLAlchemy opens its transaction first
    return fairy.driver_connection
