"""FastAPI dependencies: the shared context, a transaction per request, the caller's roles."""

from __future__ import annotations

import hashlib
from typing import Annotated

import orjson
from arrears.auth import Principal, require_roles
from arrears.errors import Problem

# Re-exported: the routes take them from here with the service's own dependencies.
from arrears.service.deps import ConnDep as ConnDep
from arrears.service.deps import IdempotencyKey as IdempotencyKey
from arrears.service.deps import not_found as not_found
from fastapi import Depends, Request

from contact_service.context import Context


async def get_context(request: Request) -> Context:
    """Async, so FastAPI calls it in the loop (a plain `def` dependency costs every request a
    hop through the thread pool)."""
    ctx: Context = request.app.state.ctx
    return ctx


ContextDep = Annotated[Context, Depends(get_context)]


# Collectors work cases; supervisors also lift restrictions and read KPIs; auditors read.
COLLECTOR_ROLES = ("collector", "supervisor", "service")
Collector = Annotated[Principal, Depends(require_roles(*COLLECTOR_ROLES))]
Reader = Annotated[
    Principal, Depends(require_roles("collector", "supervisor", "auditor", "service"))
]
Supervisor = Annotated[Principal, Depends(require_roles("supervisor", "service"))]
Analyst = Annotated[Principal, Depends(require_roles("supervisor", "auditor", "service"))]
Service = Annotated[Principal, Depends(require_roles("service"))]


def idempotency_key(key: str | None, case_id: object, command: str, body: object) -> str:
    """The caller's key; without one, a key derived from the request itself (so an identical
    resend is still recorded once). A blank key is an error."""
    if key is None:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(f"{case_id}/{command}/".encode() + canonical).hexdigest()
        return f"derived-{digest[:40]}"
    if not key.strip():
        raise Problem(
            422,
            "Unprocessable Content",
            "Idempotency-Key must not be blank",
            field="Idempotency-Key",
        )
    return key.strip()
