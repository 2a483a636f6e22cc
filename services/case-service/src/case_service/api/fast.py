"""A lean path for the command routes' common case, beside FastAPI's, with the same answers.

A command (`POST /v1/cases/{case_id}/<command>`) costs little on the writer; most of its
CPU went to FastAPI's general machinery: routing over every route, solving the dependency
tree, validating each parameter through its own adapter. This ASGI middleware sits inside
the input gate (so the token, the body's size and its encoding are checked as for any
route) and runs the request that is plainly well-formed itself: a canonical case id, a JSON
body that the route's own model (the shared strict types of `arrears.input`) accepts, a
caller holding one of the route's roles. It then does exactly what the route's endpoint
does (`routes.commands.run_route`, `api.commands.dispatch`) and answers the same way,
problems included.

Anything else (a body the model refuses, a missing role, a header FastAPI would refuse, a
route with extra path fields) goes on to FastAPI untouched, with the body replayed, so every
error keeps the one format and field naming the regular route gives it. Nothing is decided
here that the route would decide differently.
"""

from __future__ import annotations

import re
from uuid import UUID

from arrears.auth import Principal
from arrears.errors import Problem, send_problem
from arrears.service.lean import read_request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from case_service.api.routes.commands import ROUTES, router, run_route

_PATH = re.compile(
    r"/v1/cases/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"/([a-z-]+)"
)
# The headers the lean path reads; a repeated one sends the request the regular way.
_READ = (b"content-type", b"idempotency-key", b"if-match")
_BY_PATH = {route.path: route for route in ROUTES if not route.path_fields}
# FastAPI's own route for each, as its router leaves it in the scope: the metrics label
# requests by its template. (Taken from the commands' router itself: the application's
# route list holds included routers, whose routes are resolved only as requests come.)
_API_ROUTES: dict[str, BaseRoute] = {
    path: next(
        r for r in router.routes if getattr(r, "path", None) == f"/v1/cases/{{case_id}}/{path}"
    )
    for path in _BY_PATH
}


class FastCommands:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        matched = _PATH.fullmatch(scope["path"])
        route = _BY_PATH.get(matched.group(2)) if matched else None
        principal = scope.get("state", {}).get("principal")
        if (
            matched is None
            or route is None
            or not isinstance(principal, Principal)
            or not principal.has_any(route.roles)
        ):
            await self.app(scope, receive, send)
            return
        request, replay = await read_request(scope, receive, route.body, _READ)
        if request is None:
            await self.app(scope, replay, send)
            return
        scope["route"] = _API_ROUTES[route.path]  # for the metrics' route label
        path: str = scope["path"]
        try:
            response = await run_route(
                route,
                scope["app"].state.cases,
                # What Request.url.path gives: the pattern above admits no character that
                # Starlette would escape, so the Idempotency-Key's scope is the same.
                f"POST {path}",
                UUID(matched.group(1)),
                request.body,
                request.key,
                request.headers.get(b"if-match"),
            )
        except Problem as problem:
            await send_problem(send, problem, path)
            return
        await response.send_to(send)
