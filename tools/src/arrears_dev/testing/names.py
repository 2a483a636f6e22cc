"""Unique names, so tests sharing one server never see each other's data."""

from __future__ import annotations

import uuid


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def unique_topic(prefix: str = "test") -> str:
    """A topic name no other test uses (the broker auto-creates it on first use)."""
    return f"{prefix}.{uuid.uuid4().hex[:16]}"
