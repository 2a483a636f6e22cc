"""Numbers and addresses the case knows, and whose they are (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def point_key(value: str) -> str:
    """A number without spaces, dashes or brackets; an e-mail address in lower case."""
    value = value.strip()
    if "@" in value:
        return value.lower()
    digits = "".join(c for c in value if c.isdigit() or c == "+")
    return digits if len(digits) >= 5 else value


def owner_of(
    value: str,
    borrower: dict[str, Any],
    guarantors: Iterable[dict[str, Any]],
    added: Iterable[dict[str, Any]],
) -> str | None:
    """Whose `value` is by the case's record (the latest record wins), or None if unknown."""
    key = point_key(value)
    owner: str | None = None
    for phone in borrower.get("phones", []):
        if point_key(phone["number"]) == key:
            owner = str(phone.get("owner", "borrower"))
    for guarantor in guarantors:
        for phone in guarantor.get("phones", []):
            if point_key(phone["number"]) == key:
                owner = "guarantor"
    for point in added:
        if point_key(point["contact_point"]) == key:
            owner = str(point["owner"])
    return owner
