"""Demo users, one per role, with generated passwords kept in a file (mode 0600) so that
`make -s password USER=<name>` can print one. An existing user keeps its password."""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from console_service.accounts import create_user
from console_service.db import create_tables

DEMO_USERS = {
    "collector1": "collector",
    "collector2": "collector",
    "supervisor1": "supervisor",
    "legal1": "legal",
    "auditor1": "auditor",
    "admin": "admin",
}


def load_passwords(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    stored: dict[str, str] = json.loads(path.read_text())
    return stored


def _write(path: Path, passwords: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(passwords, file, indent=2)
    draft.replace(path)


async def create_demo_users(engine: AsyncEngine, path: Path) -> dict[str, str]:
    """Each demo user that does not exist yet, with a fresh password written to `path`."""
    await create_tables(engine)
    passwords = load_passwords(path)
    now = datetime.now(UTC)
    for username, role in DEMO_USERS.items():
        password = passwords.get(username) or secrets.token_urlsafe(12)
        if await create_user(engine, username, password, role, now):
            passwords[username] = password
        else:
            passwords.setdefault(username, password)
    _write(path, passwords)
    return passwords
