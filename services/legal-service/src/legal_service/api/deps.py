"""FastAPI dependencies: the shared context, a transaction per request, the caller's roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from legal_service.context import Context


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


async def get_conn(ctx: ContextDep) -> AsyncIterator[AsyncConnection]:
    """One transaction per request: committed on success, rolled back on any error."""
    async with ctx.engine.begin() as conn:
        yield conn


ConnDep = Annotated[AsyncConnection, Depends(get_conn)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]

# Legal officers record steps; supervisors too (and assign officers); auditors read.
Officer = Annotated[Principal, Depends(require_roles("legal", "supervisor", "service"))]
Reader = Annotated[Principal, Depends(require_roles("legal", "supervisor", "auditor", "service"))]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor", "service"))]
Service = Annotated[Principal, Depends(require_roles("service"))]


def not_found(case_id: object) -> Problem:
    return Problem(404, "Not Found", f"no case with id {case_id}", field="case_id")
