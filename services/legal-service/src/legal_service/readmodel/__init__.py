"""legal-service's read models: tables, the repository (every query), and views."""

from sqlalchemy.ext.asyncio import AsyncEngine

from legal_service.migrations import MIGRATIONS


async def create_tables(engine: AsyncEngine) -> None:
    """Every table at the head of legal-service's migrations (tests, benchmarks, tools)."""
    await MIGRATIONS.upgrade_engine(engine)


__all__ = ["create_tables"]
