"""Users and sessions in the console's own database: sign-in, idle timeout, sign-out."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from console_service.db import sessions, users
from console_service.passwords import hash_password, needs_rehash, verify_password

ROLES = ("collector", "supervisor", "legal", "auditor", "admin")
LANGUAGES = ("en", "zh_CN")


@dataclass(frozen=True)
class User:
    username: str
    role: str
    language: str


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def create_user(
    engine: AsyncEngine, username: str, password: str, role: str, now: datetime
) -> bool:
    """Add a user; False when the name is taken (its password is left as it was)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    async with engine.begin() as conn:
        found = await conn.scalar(select(users.c.username).where(users.c.username == username))
        if found is not None:
            return False
        await conn.execute(
            insert(users).values(
                username=username,
                password_hash=hash_password(password),
                role=role,
                language="en",
                created_at=now,
            )
        )
    return True


async def authenticate(engine: AsyncEngine, username: str, password: str) -> User | None:
    async with engine.begin() as conn:
        row = (
            (await conn.execute(select(users).where(users.c.username == username)))
            .mappings()
            .first()
        )
        stored = row["password_hash"] if row is not None else None
        if not verify_password(stored, password) or row is None:
            return None
        if needs_rehash(row["password_hash"]):
            await conn.execute(
                update(users)
                .where(users.c.username == username)
                .values(password_hash=hash_password(password))
            )
    return User(row["username"], row["role"], row["language"])


async def start_session(
    engine: AsyncEngine, user: User, now: datetime, idle: timedelta | None = None
) -> str:
    """A new session for `user`; the returned id goes in the cookie and nowhere else. With
    `idle`, sessions idle longer than that (abandoned without signing out) are purged."""
    session_id = secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        if idle is not None:
            await conn.execute(delete(sessions).where(sessions.c.last_seen_at < now - idle))
        await conn.execute(
            insert(sessions).values(
                id_hash=_digest(session_id),
                username=user.username,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
            )
        )
    return session_id


async def resume_session(
    engine: AsyncEngine, session_id: str, now: datetime, idle: timedelta
) -> Session | None:
    """The session behind the cookie, its idle clock restarted; None (and the row gone) once
    it has been idle longer than `idle`."""
    key = _digest(session_id)
    async with engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    select(sessions, users.c.role, users.c.language)
                    .join(users, users.c.username == sessions.c.username)
                    .where(sessions.c.id_hash == key)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        if now - row["last_seen_at"] > idle:
            await conn.execute(delete(sessions).where(sessions.c.id_hash == key))
            return None
        await conn.execute(
            update(sessions).where(sessions.c.id_hash == key).values(last_seen_at=now)
        )
    return Session(User(row["username"], row["role"], row["language"]), row["csrf_token"])


async def end_session(engine: AsyncEngine, session_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(sessions).where(sessions.c.id_hash == _digest(session_id)))


async def set_language(engine: AsyncEngine, username: str, language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    async with engine.begin() as conn:
        await conn.execute(
            update(users).where(users.c.username == username).values(language=language)
        )
