"""What the API, the workers and the daily run share: settings, engine, clock, policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from arrears.clock import Clock
from arrears.messaging.personal import SubjectKeyClient
from arrears.outbox import CommandForwarder, TaskPublisher
from arrears.service import make_engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contact_service import sealing
from contact_service.forwarding import CommandSender
from contact_service.policy.guard import permitted_at
from contact_service.policy.model import forget_point_keys
from contact_service.policy.profiles import PROFILES, Profile, profile_for, profile_of_case
from contact_service.policy.strategy import StrategyBook, load_book
from contact_service.readmodel import repository as repo
from contact_service.settings import ContactServiceSettings
from contact_service.tasks import Emitter


@dataclass
class ZoneCache:
    """The time zones of open cases, re-read at most every `ttl` seconds."""

    ttl: float = 30.0
    zones: list[str] = field(default_factory=list)
    read_at: float = -1e9

    async def permitted(
        self, conn: AsyncConnection, profiles: Iterable[Profile], now: datetime
    ) -> list[str]:
        """Zones where some profile in force permits contact now (the guard decides per case)."""
        if time.monotonic() - self.read_at > self.ttl:
            self.zones = await repo.timezones(conn)
            self.read_at = time.monotonic()
        rules = list(profiles)
        return [z for z in self.zones if any(permitted_at(p, now, z) for p in rules)]

    def invalidate(self) -> None:
        self.read_at = -1e9


class ReadPool:
    """A plain asyncpg pool for the hottest read (the guard's inputs): one round trip, no
    transaction around it, none of SQLAlchemy's per-statement work. Opened on first use."""

    def __init__(self, database_url: str, size: int) -> None:
        self.database_url = database_url
        self.size = size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.database_url, min_size=1, max_size=self.size, reset=_keep_session
                    )
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """No session reset when a connection goes back to the pool: its users take no session
    advisory lock, LISTEN, cursor or SET (all is per transaction), so asyncpg's default reset
    (a round trip running four statements) after every request would reset nothing. asyncpg
    still rolls back a transaction left open before calling this."""


@dataclass
class Context:
    settings: ContactServiceSettings
    engine: AsyncEngine
    clock: Clock
    profile: Profile
    book: StrategyBook
    emit: Emitter | None = None
    forwarder: CommandForwarder | None = None
    # Sends a command at once from the request that queued it (the background forwarder
    # delivers the rest); set with the outbox.
    sender: CommandSender | None = None
    # Opens the personal fields of case events (arrears.messaging.personal); set with the outbox.
    keys: SubjectKeyClient | None = None
    publisher: TaskPublisher | None = None
    zones: ZoneCache = field(default_factory=ZoneCache)
    reads: ReadPool | None = None

    def profile_of(self, jurisdiction: str | None) -> Profile:
        """The profile of a case: its jurisdiction's, or the default for a case naming none."""
        return profile_of_case(jurisdiction, self.profile)

    @property
    def profiles(self) -> list[Profile]:
        return list(PROFILES.values())

    @property
    def read_pool(self) -> ReadPool:
        if self.reads is None:
            self.reads = ReadPool(self.settings.database_url, self.settings.db_pool_size)
        return self.reads

    @classmethod
    def build(
        cls,
        settings: ContactServiceSettings,
        clock: Clock,
        *,
        engine: AsyncEngine | None = None,
        book: StrategyBook | None = None,
    ) -> Context:
        directory = Path(settings.strategy_dir) if settings.strategy_dir else None
        sealing.configure(sealing.secret_from(settings.contact_data_key, settings.cipher_key))
        forget_point_keys()
        return cls(
            settings=settings,
            engine=engine or make_engine(settings),
            clock=clock,
            profile=profile_for(settings.jurisdiction),
            book=book or load_book(directory),
        )
