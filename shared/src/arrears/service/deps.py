"""FastAPI dependencies every read-side service shares: a transaction per request, the
Idempotency-Key header and the 404 for an unknown case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.errors import Problem


async def transaction(request: Request) -> AsyncIterator[AsyncConnection]:
    """One transaction per request: committed on success, rolled back on any error."""
    engine: AsyncEngine = request.app.state.ctx.engine
    async with engine.begin() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection, Depends(transaction)]
IDEMPOTENCY_KEY_MAX = 255  # characters; the lean paths (arrears.service.lean) hold to it too
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=IDEMPOTENCY_KEY_MAX)
]


def not_found(case_id: object) -> Problem:
    return Problem(404, "Not Found", f"no case with id {case_id}", field="case_id")
