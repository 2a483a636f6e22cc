"""The bearer token the console sends to the services on behalf of the signed-in user.

Signed in with the identity provider (OIDC): the user's own access token from the IdP, which
the services verify against its JWKS. Local sign-in (embedded): a short-lived JWT with the
user's own name and role, signed with the shared JWT_SECRET. Either way the services apply
their role checks to the person, never to the console.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arrears.auth import issue_token

from console_service.accounts import Session


class TokenExpired(Exception):
    """The IdP's access token of this session has expired: the user signs in again."""


class TokenMinter:
    def __init__(self, secret: str | None, ttl: timedelta) -> None:
        # Without a secret (an IdP-only deployment) only sessions holding an IdP token work.
        self._secret = secret
        self._ttl = ttl

    def token_for(self, session: Session) -> str:
        if session.access_token is not None:
            expires = session.token_expires_at
            if expires is not None and expires <= datetime.now(UTC):
                raise TokenExpired
            return session.access_token
        if not self._secret:
            raise RuntimeError("the console needs JWT_SECRET to sign its local users' tokens")
        user = session.user
        return issue_token(self._secret, user.role, user.username, self._ttl)
