"""Users and sessions in the console's own database: sign-in, idle timeout, sign-out."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from console_service.db import oidc_flows, sessions, users
from console_service.passwords import hash_password, needs_rehash, verify_password

ROLES = ("collector", "supervisor", "legal", "auditor", "admin")
IDP_ONLY_HASH = "!identity-provider"  # not an argon2 hash: no password ever verifies
FLOW_TTL = timedelta(minutes=10)  # time to sign in at the IdP and come back
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
    # Signed in with the IdP: the access token the services receive, and its expiry; the
    # refresh token that renews it and the ID token that signs the user out at the IdP.
    access_token: str | None = None
    token_expires_at: datetime | None = None
    refresh_token: str | None = None
    id_token: str | None = None
    key: str = ""  # the row's id (the cookie's digest), to store renewed tokens


@dataclass(frozen=True)
class Tokens:
    """What the IdP's token endpoint answered (sign-in or refresh)."""

    access_token: str
    expires_at: datetime | None
    refresh_token: str | None = None
    id_token: str | None = None


# The idle clock restarts at most this often: a page (and each of its htmx requests) reads
# the session without writing it back each time.
SEEN_GRANULARITY = timedelta(seconds=30)


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
    engine: AsyncEngine,
    user: User,
    now: datetime,
    idle: timedelta | None = None,
    *,
    tokens: Tokens | None = None,
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
                access_token=tokens.access_token if tokens else None,
                token_expires_at=tokens.expires_at if tokens else None,
                refresh_token=tokens.refresh_token if tokens else None,
                id_token=tokens.id_token if tokens else None,
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
        if now - row["last_seen_at"] >= SEEN_GRANULARITY:
            await conn.execute(
                update(sessions).where(sessions.c.id_hash == key).values(last_seen_at=now)
            )
    return Session(
        User(row["username"], row["role"], row["language"]),
        row["csrf_token"],
        row["access_token"],
        row["token_expires_at"],
        row["refresh_token"],
        row["id_token"],
        key,
    )


async def session_tokens(engine: AsyncEngine, key: str) -> Tokens | None:
    """The IdP tokens a session holds now (another request may have renewed them)."""
    async with engine.begin() as conn:
        row = (
            (await conn.execute(select(sessions).where(sessions.c.id_hash == key)))
            .mappings()
            .first()
        )
    if row is None or row["access_token"] is None:
        return None
    return Tokens(
        row["access_token"], row["token_expires_at"], row["refresh_token"], row["id_token"]
    )


async def store_tokens(engine: AsyncEngine, key: str, tokens: Tokens) -> None:
    """Renewed tokens for a session; a refresh token or ID token the IdP did not send again
    stays as it was."""
    values: dict[str, object] = {
        "access_token": tokens.access_token,
        "token_expires_at": tokens.expires_at,
    }
    if tokens.refresh_token:
        values["refresh_token"] = tokens.refresh_token
    if tokens.id_token:
        values["id_token"] = tokens.id_token
    async with engine.begin() as conn:
        await conn.execute(update(sessions).where(sessions.c.id_hash == key).values(**values))


async def identity_user(engine: AsyncEngine, username: str, role: str, now: datetime) -> User:
    """The local record of a user the IdP vouched for: created on first sign-in, its role
    kept as the IdP says today. It has no password (the hash matches none)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    async with engine.begin() as conn:
        row = (
            (await conn.execute(select(users).where(users.c.username == username)))
            .mappings()
            .first()
        )
        if row is None:
            await conn.execute(
                insert(users).values(
                    username=username,
                    password_hash=IDP_ONLY_HASH,
                    role=role,
                    language="en",
                    created_at=now,
                )
            )
            return User(username, role, "en")
        if row["role"] != role:
            await conn.execute(update(users).where(users.c.username == username).values(role=role))
    return User(username, role, row["language"])


async def end_session_by_key(engine: AsyncEngine, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(sessions).where(sessions.c.id_hash == key))


async def end_session(engine: AsyncEngine, session_id: str) -> str | None:
    """Delete the session; its IdP ID token (the hint for signing out there), if any."""
    async with engine.begin() as conn:
        token: str | None = await conn.scalar(
            delete(sessions)
            .where(sessions.c.id_hash == _digest(session_id))
            .returning(sessions.c.id_token)
        )
    return token


async def set_language(engine: AsyncEngine, username: str, language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    async with engine.begin() as conn:
        await conn.execute(
            update(users).where(users.c.username == username).values(language=language)
        )


async def save_flow(
    engine: AsyncEngine, flow_id: str, values: dict[str, str], now: datetime
) -> None:
    """An IdP sign-in under way (state, nonce, PKCE verifier); older unfinished ones go."""
    async with engine.begin() as conn:
        await conn.execute(delete(oidc_flows).where(oidc_flows.c.created_at < now - FLOW_TTL))
        await conn.execute(
            insert(oidc_flows).values(id_hash=_digest(flow_id), created_at=now, **values)
        )


async def take_flow(engine: AsyncEngine, flow_id: str, now: datetime) -> dict[str, str] | None:
    """The sign-in under way behind the cookie, once (it is deleted), if still fresh."""
    async with engine.begin() as conn:
        row = (
            (
                await conn.execute(
                    delete(oidc_flows)
                    .where(oidc_flows.c.id_hash == _digest(flow_id))
                    .returning(oidc_flows)
                )
            )
            .mappings()
            .first()
        )
    if row is None or now - row["created_at"] > FLOW_TTL:
        return None
    return {"state": row["state"], "nonce": row["nonce"], "code_verifier": row["code_verifier"]}
