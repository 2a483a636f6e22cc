"""Database URLs: services configure a plain `postgresql://` URL; async engines need asyncpg's."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(database_url: str) -> str:
    """`postgresql://…` (as DATABASE_URL is given) → `postgresql+asyncpg://…`."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    return f"postgresql+asyncpg://{rest}"


def async_engine(database_url: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(async_url(database_url), pool_size=pool_size, pool_pre_ping=True)
