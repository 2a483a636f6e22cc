"""The asyncpg connection under a SQLAlchemy AsyncConnection, for the hottest statements
(arrears.db.driver: one definition for every service)."""

from __future__ import annotations

from arrears.db import driver

__all__ = ["driver"]
