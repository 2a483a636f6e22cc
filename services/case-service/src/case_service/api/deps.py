"""FastAPI dependencies: the application, the caller, idempotency keys and preconditions."""

from __future__ import annotations

import hashlib
from typing import Annotated

from arrears.auth import Principal, require_roles
from arrears.errors import Problem
from arrears.input import check_text
from arrears.service.deps import IDEMPOTENCY_KEY_MAX
from arrears.service.deps import IdempotencyKey as IdempotencyKey  # the routes take it from here
from fastapi import Depends, Header, Request

from case_service.application import CaseApplication
from case_service.commands import IdempotencyClaim


async def get_cases(request: Request) -> CaseApplication:
    app: CaseApplication = request.app.state.cases
    return app


CasesDep = Annotated[CaseApplication, Depends(get_cases)]
IfMatch = Annotated[str | None, Header(alias="If-Match")]

Reader = Annotated[
    Principal,
    Depends(require_roles("auditor", "collector", "supervisor", "legal", "origination", "service")),
]
Origination = Annotated[Principal, Depends(require_roles("origination", "service"))]


def idempotency_claim(
    request: Request, key: str | None, canonical_body: str
) -> IdempotencyClaim | None:
    """The claim for `key` sent to this request's route, or None without a key."""
    if key is None:
        return None
    return scoped_claim(claim_scope(request), key, canonical_body)


def claim_scope(request: Request) -> str:
    """What an Idempotency-Key is scoped to: the method and path it was sent to."""
    return f"{request.method} {request.url.path}"


def scoped_claim(scope: str, key: str, canonical_body: str) -> IdempotencyClaim:
    """Scope a key to the caller's route (`scope`: "POST /v1/cases/<id>/payments"), and
    fingerprint the request it names."""
    try:
        check_text(key, max_length=IDEMPOTENCY_KEY_MAX)
    except ValueError as exc:
        raise Problem(
            422, "Unprocessable Content", f"Idempotency-Key {exc}", field="Idempotency-Key"
        ) from None
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
