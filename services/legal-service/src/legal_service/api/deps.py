"""FastAPI dependencies: the shared context, a transaction per request, the caller's roles."""

from __future__ import annotations

from typing import Annotated

from arrears.auth import Principal, require_roles

# Re-exported: the routes take them from here with the service's own dependencies.
from arrears.service.deps import ConnDep as ConnDep
from arrears.service.deps import IdempotencyKey as IdempotencyKey
from arrears.service.deps import not_found as not_found
from fastapi import Depends, Request

from legal_service.context import Context


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


# Legal officers record steps; supervisors too (and assign officers); auditors read.
Officer = Annotated[Principal, Depends(require_roles("legal", "supervisor", "service"))]
Reader = Annotated[Principal, Depends(require_roles("legal", "supervisor", "auditor", "service"))]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor", "service"))]
Service = Annotated[Principal, Depends(require_roles("service"))]
