"""Database URLs: services configure a plain `postgresql://` URL; async engines need asyncpg's."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(database_url: str) -> str:
    """`postgresql://…` (as DATABASE_URL is given) → `postgresql+asyncpg://…`."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return f"postgresql+asyncpg://{rest}"


def async_engine(database_url: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(async_url(database_url), pool_size=pool_size, pool_pre_ping=True)


async def driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`, with `conn`'s transaction begun, for the hottest
    statements (consumers' tracking rows, projections' writes): sent straight to asyncpg they
    skip SQLAlchemy's expression building and result wrapping, about half of their cost, and
    are prepared once per connection. Errors arrive as asyncpg's own; callers retry the whole
    batch on any exception. SQLAlchemy's asyncpg adapter begins its transaction lazily, before
    its first statement; the same is done here (one BEGIN, no extra statement). The adapter's
    `_transaction`/`_start_transaction` are not public API: the lockfile pins SQLAlchemy, and
    every projection and consumer test goes through this."""
    fairy = await conn.get_raw_connection()
    adapted: Any = fairy.dbapi_connection
    if getattr(adapted, "_transaction", True) is None:
        await adapted._start_transaction()
    return fairy.driver_connection
