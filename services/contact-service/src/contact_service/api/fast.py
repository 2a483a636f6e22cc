"""A lean path for `POST /v1/cases/{case_id}/contact-attempts` and `.../promises`, beside
FastAPI's routes, with the same answers (as case-service's `case_service.api.fast`).

Most of a plain attempt's HTTP cost went to FastAPI's general machinery: routing over every
route, solving the dependency tree, validating each parameter through its own adapter. This
ASGI middleware sits inside the input gate (so the token, the body's size and its encoding
are checked as for any route) and runs the request that is plainly well-formed itself: a
canonical case id, a JSON object that the route's own model (`schemas.ContactAttemptCreate`,
`schemas.PromiseCreate`) accepts, one Idempotency-Key of a length the route admits, a caller
holding one of the route's roles (both routes admit the same). It then calls what the
route's endpoint calls (`routes.outcomes.run_attempt`, `run_promise`) and answers the same
way, problems included.

Anything else (a body the model refuses, a missing role, a repeated or overlong header, any
other route) goes on to FastAPI untouched, with the body replayed, so every error keeps the
one format and field naming the regular route gives it.
"""

from __future__ import annotations

import re
from uuid import UUID

from arrears.auth import Principal
from arrears.errors import Problem, send_problem
from arrears.service.lean import read_request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from contact_service.api import schemas as s
from contact_service.api.deps import COLLECTOR_ROLES
from contact_service.api.routes import outcomes
from contact_service.api.routes.outcomes import run_attempt, run_promise

_PATH = re.compile(
    r"/v1/cases/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"/(contact-attempts|promises)"
)


def _route(path: str) -> BaseRoute:
    """FastAPI's own route, as its router leaves it in the scope: the metrics label requests
    by its template."""
    return next(r for r in outcomes.router.routes if getattr(r, "path", None) == path)


_ATTEMPTS = _route("/v1/cases/{case_id}/contact-attempts")
_PROMISES = _route("/v1/cases/{case_id}/promises")
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
        ctx, case_id, path = scope["app"].state.ctx, UUID(matched.group(1)), scope["path"]
        if matched.group(2) == "contact-attempts":
            attempt, replay = await read_request(scope, receive, s.ContactAttemptCreate, _READ)
            if attempt is None:
                await self.app(scope, replay, send)
                return
            scope["route"] = _ATTEMPTS  # for the metrics' route label
            running = run_attempt(ctx, principal, case_id, attempt.body, attempt.key)
        else:
            promise, replay = await read_request(scope, receive, s.PromiseCreate, _READ)
            if promise is None:
                await self.app(scope, replay, send)
                return
            scope["route"] = _PROMISES
            running = run_promise(ctx, principal, case_id, promise.body, promise.key)
        try:
            response = await running
        except Problem as problem:
            await send_problem(send, problem, path)
            return
        await response(scope, replay, send)
