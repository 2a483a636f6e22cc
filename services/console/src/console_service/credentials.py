"""The bearer token the console sends to the services on behalf of the signed-in user.

Embedded sign-in: a short-lived JWT with the user's own name and role, signed with the shared
JWT_SECRET, so the services apply their own role checks to the person, never to the console.
With an identity provider this is the one place to change: hand over the user's access token.
"""

from __future__ import annotations

from datetime import timedelta

from arrears.auth import issue_token

from console_service.accounts import User


class TokenMinter:
    def __init__(self, secret: str | None, ttl: timedelta) -> None:
        if not secret:
            raise RuntimeError("the console needs JWT_SECRET to sign its users' tokens")
        self._secret = secret
        self._ttl = ttl

    def token_for(self, user: User) -> str:
        return issue_token(self._secret, user.role, user.username, self._ttl)
