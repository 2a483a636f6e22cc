"""A lean path for `POST /v1/cases/{case_id}/contact-attempts`, beside FastAPI's route, with
the same answers (as case-service's `case_service.api.fast`).

Most of a plain attempt's HTTP cost went to FastAPI's general machinery: routing over every
route, solving the dependency tree, validating each parameter through its own adapter. This
ASGI middleware sits inside the input gate (so the token, the body's size and its encoding
are checked as for any route) and runs the request that is plainly well-formed itself: a
canonical case id, a JSON object that the route's own model (`schemas.ContactAttemptCreate`)
accepts, one Idempotency-Key of a length the route admits, a caller holding one of the
route's roles. It then calls what the route's endpoint calls (`routes.outcomes.run_attempt`)
and answers the same way, problems included.

Anything else (a body the model refuses, a missing role, a repeated or overlong header, any
other route) goes on to FastAPI untouched, with the body replayed, so every error keeps the
one format and field naming the regular route gives it.
"""

from __future__ import annotations

import re
from uuid import UUID

import orjson
from arrears.auth import Principal
from arrears.errors import Problem, send_problem
from arrears.gate import replay_body
from pydantic import ValidationError
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from contact_service.api import schemas as s
from contact_service.api.deps import COLLECTOR_ROLES
from contact_service.api.routes import outcomes
from contact_service.api.routes.outcomes import run_attempt

_PATH = re.compile(
    r"/v1/cases/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"/contact-attempts"
)
# FastAPI's own route, as its router leaves it in the scope: the metrics label requests by
# its template.
_ROUTE: BaseRoute = next(
    r
    for r in outcomes.router.routes
    if getattr(r, "path", None) == "/v1/cases/{case_id}/contact-attempts"
)
_MAX_KEY = 255  # the Idempotency-Key header's declared maximum (arrears.service.deps)
_READ = (b"content-type", b"idempotency-key")


class FastAttempts:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        matched = _PATH.fullmatch(scope["path"])
        principal = scope.get("state", {}).get("principal")
        if (
            matched is None
            or not isinstance(principal, Principal)
            or not principal.has_any(COLLECTOR_ROLES)
        ):
            await self.app(scope, receive, send)
            return
        body, replay = await _read(receive)
        headers = _headers(scope)
        parsed = _parse(body, headers)
        key = headers.get(b"idempotency-key")
        if parsed is None or (key is not None and len(key) > _MAX_KEY):
            await self.app(scope, replay, send)
            return
        scope["route"] = _ROUTE  # for the metrics' route label
        path: str = scope["path"]
        try:
            response = await run_attempt(
                scope["app"].state.ctx, principal, UUID(matched.group(1)), parsed, key
            )
        except Problem as problem:
            await send_problem(send, problem, path)
            return
        await response(scope, replay, send)


def _headers(scope: Scope) -> dict[bytes, str]:
    # The headers the lean path reads; a repeated one goes the regular way (_parse).
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _READ:
            if name in found:
                found[b"repeated"] = "1"
            found[name] = value.decode("latin-1")
    return found


def _parse(body: bytes, headers: dict[bytes, str]) -> s.ContactAttemptCreate | None:
    """The route's body model, or None to leave the request to FastAPI."""
    content_type = headers.get(b"content-type", "").lower()
    if b"repeated" in headers or not body:
        return None
    if content_type != "application/json" and not content_type.startswith("application/json;"):
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    try:
        return s.ContactAttemptCreate.model_validate(data)
    except ValidationError:
        return None


async def _read(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (the gate has read it already and replays it), and a receive that
    replays it again for whoever runs the request."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    return body, replay_body(body, receive)
