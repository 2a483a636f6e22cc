"""The console's own tables: its users and their sessions. Nothing else is stored here."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncEngine

metadata = MetaData()

users = Table(
    "console_users",
    metadata,
    Column("username", String(100), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(30), nullable=False),
    Column("language", String(10), nullable=False, server_default="en"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

sessions = Table(
    "console_sessions",
    metadata,
    # The SHA-256 of the cookie's value: a stolen table row cannot be replayed as a cookie.
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(100), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    # Signed in with the IdP: its access token for the services, and when it expires.
    Column("access_token", Text, nullable=True),
    Column("token_expires_at", DateTime(timezone=True), nullable=True),
    # The IdP's refresh token (renews the access token before it expires) and ID token (the
    # hint for signing out at the IdP). Migration 0002.
    Column("refresh_token", Text, nullable=True),
    Column("id_token", Text, nullable=True),
)

# A sign-in with the IdP under way: what the callback must match (state, nonce) and the PKCE
# verifier, keyed by the SHA-256 of a random id held in a short-lived cookie.
oidc_flows = Table(
    "console_oidc_flows",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("state", String(100), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("code_verifier", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


async def create_tables(engine: AsyncEngine) -> None:
    """Every table at the head of the console's migrations (tests, demo users)."""
    from console_service.migrations import MIGRATIONS  # its env.py imports this module

    await MIGRATIONS.upgrade_engine(engine)
