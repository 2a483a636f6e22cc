"""contact-service's read models: tables, derived values and the repository of queries."""

from sqlalchemy.ext.asyncio import AsyncEngine

from contact_service.migrations import MIGRATIONS
from contact_service.readmodel.tables import Base


async def create_tables(engine: AsyncEngine) -> None:
    """Every table at the head of contact-service's migrations (tests, benchmarks, tools)."""
    await MIGRATIONS.upgrade_engine(engine)


__all__ = ["Base", "create_tables"]
