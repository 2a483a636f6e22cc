"""The door every request passes before any route sees it (a plain ASGI middleware).

1. Authentication first: a request without a valid bearer token is answered 401 before its
   body is read, so an anonymous caller cannot make us parse anything.
2. Body size: each route has a maximum (a default, and larger ones a service names, such as
   the daily batch); a larger body is answered 413 from its Content-Length, or as soon as the
   streamed bytes pass the limit, before it is parsed.
3. Encoding: a body is JSON in UTF-8. Another charset, a byte-order mark, a NUL byte or bytes
   that are not UTF-8 are answered 415 (json.loads would otherwise guess UTF-16 or UTF-32).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from arrears.auth import TokenVerifier, verify_bearer
from arrears.errors import Problem, send_problem

DEFAULT_BODY_LIMIT = 256 * 1024
# Paths anyone may call: probes, metrics and the API's own description.
PUBLIC_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class GatePolicy:
    """What the gate enforces for one service."""

    public_paths: frozenset[str] = PUBLIC_PATHS
    default_body_limit: int = DEFAULT_BODY_LIMIT
    # (path pattern, limit): the first pattern that matches the whole path sets the limit.
    body_limits: tuple[tuple[re.Pattern[str], int], ...] = field(default=())

    @classmethod
    def with_limits(
        cls, limits: Mapping[str, int] | None = None, public: Iterable[str] = ()
    ) -> GatePolicy:
        compiled = tuple((re.compile(pattern), size) for pattern, size in (limits or {}).items())
        return cls(public_paths=PUBLIC_PATHS | frozenset(public), body_limits=compiled)

    def body_limit(self, path: str) -> int:
        for pattern, size in self.body_limits:
            if pattern.fullmatch(path):
                return size
        return self.default_body_limit


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def _charset_problem(content_type: str | None) -> Problem | None:
    if not content_type:
        return None
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            return Problem(415, "Unsupported Media Type", "request bodies must be JSON in UTF-8")
    return None


def _encoding_problem(body: bytes) -> Problem | None:
    bad = body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\x00" in body
    if not bad:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            bad = True
    if bad:
        return Problem(415, "Unsupported Media Type", "request bodies must be JSON in UTF-8")
    return None


class InputGate:
    def __init__(self, app: ASGIApp, verifier: TokenVerifier, policy: GatePolicy) -> None:
        self.app = app
        self.verifier = verifier
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path not in self.policy.public_paths:
            problem = await self._authenticate(scope)
            if problem is not None:
                await send_problem(send, problem, path)
                return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body, problem = await self._read_body(scope, receive, self.policy.body_limit(path))
        if problem is not None:
            await send_problem(send, problem, path)
            return
        await self.app(scope, replay_body(body, receive), send)

    async def _authenticate(self, scope: Scope) -> Problem | None:
        try:
            principal = await verify_bearer(self.verifier, _header(scope, b"authorization"))
        except Problem as problem:
            return problem
        scope.setdefault("state", {})["principal"] = principal
        return None

    async def _read_body(
        self, scope: Scope, receive: Receive, limit: int
    ) -> tuple[bytes, Problem | None]:
        too_large = Problem(
            413, "Content Too Large", f"the request body must be at most {limit} bytes"
        )
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return b"", too_large
        charset = _charset_problem(_header(scope, b"content-type"))
        if charset is not None:
            return b"", charset
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return b"", too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        return body, _encoding_problem(body) if body else None


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the already-read body once, then whatever the client sends."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
