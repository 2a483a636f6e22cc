"""FastAPI dependencies: the application, the caller, idempotency keys and preconditions."""

from __future__ import annotations

import hashlib
from typing import Annotated

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from arrears.input import check_text
from fastapi import Depends, Header, Request

from case_service.application import CaseApplication
from case_service.commands import IdempotencyClaim


async def get_cases(request: Request) -> CaseApplication:
    app: CaseApplication = request.app.state.cases
    return app


CasesDep = Annotated[CaseApplication, Depends(get_cases)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]

Reader = Annotated[
    Principal,
    Depends(require_roles("auditor", "collector", "supervisor", "legal", "origination", "service")),
]
Origination = Annotated[Principal, Depends(require_roles("origination", "service"))]


def idempotency_claim(
    request: Request, key: str | None, canonical_body: str
) -> IdempotencyClaim | None:
    """Scope a key to the caller's route, and fingerprint the request it names."""
    if key is None:
        return None
    try:
        check_text(key, max_length=255)
    except ValueError as exc:
        raise Problem(
            422, "Unprocessable Content", f"Idempotency-Key {exc}", field="Idempotency-Key"
        ) from None
    scope = f"{request.method} {request.url.path}"
    digest = hashlib.sha256(f"{scope}\n{canonical_body}".encode()).hexdigest()
    return IdempotencyClaim(scope=scope, key=key.strip(), request_hash=digest)


def expected_version(if_match: str | None) -> int | None:
    """`If-Match: 7` or `If-Match: "7"` (the ETag we send) names the version the caller saw."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise Problem(
            422,
            "Unprocessable Content",
            'If-Match must be a case version such as "3"',
            field="If-Match",
        )
    return int(value)
