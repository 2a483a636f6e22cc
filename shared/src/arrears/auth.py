"""Bearer-token auth: JWTs carrying roles, HS256 for the embedded default, JWKS in production."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from arrears.errors import Problem

ROLES = frozenset(
    {"origination", "collector", "supervisor", "legal", "auditor", "admin", "service"}
)
# The embedded default issues and requires its own issuer and audience; a bank's identity
# provider is named by JWT_ISSUER / JWT_AUDIENCE (see docs/input-grammar.md, "Tokens").
EMBEDDED_ISSUER = "arrears-embedded"
EMBEDDED_AUDIENCE = "arrears"
ISSUER = EMBEDDED_ISSUER
MAX_LIFETIME = timedelta(hours=24)
LEEWAY = timedelta(seconds=30)  # clock skew between the issuer and us
VERIFIED_TOKENS_KEPT = 10_000


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        return "admin" in self.roles or not self.roles.isdisjoint(roles)


def issue_token(
    secret: str,
    role: str,
    subject: str,
    ttl: timedelta,
    *,
    issuer: str = EMBEDDED_ISSUER,
    audience: str = EMBEDDED_AUDIENCE,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(sorted(ROLES))}")
    now = datetime.now(UTC)
    claims = {
        "sub": subject,
        "roles": [role],
        "iat": now,
        "exp": now + ttl,
        "iss": issuer,
        "aud": audience,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class InvalidToken(Exception):
    """A token that is well signed but whose claims we do not accept."""


def roles_claim(value: object) -> frozenset[str]:
    """The `roles` claim: a list of known role strings, nothing else (a dict, a number or an
    unknown role is refused, never iterated or stringified into a grant)."""
    if not isinstance(value, list) or not value:
        raise InvalidToken("the roles claim must be a non-empty list of role names")
    for role in value:
        if not isinstance(role, str) or role not in ROLES:
            raise InvalidToken(f"the roles claim names an unknown role: {str(role)[:40]!r}")
    return frozenset(value)


class TokenVerifier:
    """Verifies bearer tokens with a shared secret or the keys published at a JWKS URL.

    Required: a valid signature, `iss` equal to the configured issuer, `aud` naming the
    configured audience, `sub`, `iat`, `exp`, a lifetime (exp - iat) of at most `max_lifetime`,
    and `roles` as a list of known role names."""

    def __init__(
        self,
        *,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str = EMBEDDED_AUDIENCE,
        issuer: str = EMBEDDED_ISSUER,
        max_lifetime: timedelta = MAX_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret and not jwks_url:
            raise ValueError("auth needs JWT_SECRET or JWT_JWKS_URL")
        if not audience or not issuer:
            raise ValueError("auth needs JWT_ISSUER and JWT_AUDIENCE")
        self._secret = secret
        self._jwks = jwt.PyJWKClient(jwks_url) if jwks_url else None
        self._audience = audience
        self._issuer = issuer
        self._max_lifetime = max_lifetime
        self._clock = clock
        # Tokens already verified, until they expire: a client sends the same token with every
        # request, and checking it again (the key prepared, the signature, the claims) was a
        # fifth of a command's CPU. Only the clock can make a verified token invalid later.
        self._verified: dict[str, tuple[Principal, float]] = {}

    @property
    def may_block(self) -> bool:
        """True when verifying may fetch keys over the network."""
        return self._jwks is not None

    def verify(self, token: str) -> Principal:
        """The caller; jwt.PyJWTError or InvalidToken when the token is not acceptable."""
        known = self._verified.get(token)
        if known is not None:
            principal, usable_until = known
            if self._clock() <= usable_until:
                return principal
            self._verified.pop(token, None)
        principal, expires = self._check(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()  # bounded; a busy service refills it with live tokens
        self._verified[token] = (principal, expires + LEEWAY.total_seconds())
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        key: Any
        if self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
            algorithms = ["RS256", "ES256"]
        else:
            key = self._secret
            algorithms = ["HS256"]
        claims = jwt.decode(
            token,
            key,
            algorithms=algorithms,
            audience=self._audience,
            issuer=self._issuer,
            leeway=LEEWAY,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise InvalidToken("iat and exp must be numbers")
        if expires - issued > self._max_lifetime.total_seconds():
            hours = self._max_lifetime.total_seconds() / 3600
            raise InvalidToken(f"the token lives longer than the allowed {hours:g} hours")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > 200:
            raise InvalidToken("sub must be a non-empty string")
        return Principal(subject=subject, roles=roles_claim(claims.get("roles"))), float(expires)


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


async def verify_bearer(verifier: TokenVerifier, authorization: str | None) -> Principal:
    """The caller named by an `Authorization: Bearer <JWT>` header; a 401 Problem otherwise.
    Async: an HS256 check is microseconds of CPU; only a JWKS verifier may fetch keys, so it
    runs in the thread pool."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    try:
        if verifier.may_block:
            return await run_in_threadpool(verifier.verify, token)
        return verifier.verify(token)
    except (jwt.PyJWTError, InvalidToken) as exc:
        raise _unauthorized(f"invalid token: {exc}") from None


async def authenticate(request: Request) -> Principal:
    # The input gate (arrears.gate) has verified the token before the body was read.
    checked = request.scope.get("state", {}).get("principal")
    if isinstance(checked, Principal):
        return checked
    # Without the gate (an app built by hand): verify here.
    verifier: TokenVerifier = request.app.state.token_verifier
    return await verify_bearer(verifier, request.headers.get("authorization"))


def require_roles(*roles: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting callers holding any of `roles` (admin always passes)."""

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if not principal.has_any(roles):
            raise Problem(
                403,
                "Forbidden",
                f"this action needs one of the roles: {', '.join(sorted(roles))}",
            )
        return principal

    return dependency


class ServiceToken:
    """The bearer token a service sends to case-service: SERVICE_TOKEN when configured (an
    identity provider issued it), else one minted from JWT_SECRET with the role `service`
    and renewed at half its lifetime."""

    def __init__(
        self,
        *,
        subject: str,
        service_token: str | None = None,
        jwt_secret: str | None = None,
        ttl: timedelta = timedelta(hours=1),
    ) -> None:
        self._fixed = service_token
        self._secret = jwt_secret
        self._subject = subject
        self._ttl = ttl
        self._token: str | None = None
        self._expires = 0.0

    def __call__(self) -> str:
        if self._fixed:
            return self._fixed
        if not self._secret:
            raise RuntimeError("calling case-service needs SERVICE_TOKEN or JWT_SECRET")
        if self._token is None or time.monotonic() > self._expires:
            self._token = issue_token(self._secret, "service", self._subject, self._ttl)
            self._expires = time.monotonic() + self._ttl.total_seconds() / 2
        return self._token
