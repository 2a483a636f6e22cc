"""OpenID Connect sign-in: authorization code flow with PKCE (S256) against the bank's
identity provider, with authlib's OAuth 2 client; the ID token is verified with the keys the
IdP publishes (PyJWT), and the user's roles are read from a claim."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import jwt
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from starlette.concurrency import run_in_threadpool

from console_service.accounts import ROLES, Tokens
from console_service.settings import ConsoleSettings

# Several roles in the claim: the one that sees most wins (admin over supervisor...).
PRECEDENCE = ("admin", "supervisor", "legal", "auditor", "collector")


class SignInFailed(Exception):
    """The IdP's answer cannot be trusted or names no console role."""


@dataclass(frozen=True)
class Flow:
    state: str
    nonce: str
    code_verifier: str


class RefreshFailed(Exception):
    """The IdP would not renew the access token (refresh token expired, revoked, reused)."""


@dataclass(frozen=True)
class Identity:
    username: str
    role: str
    tokens: Tokens


def role_of(claims: dict[str, Any], claim: str) -> str:
    given = claims.get(claim, [])
    roles = {given} if isinstance(given, str) else {str(r) for r in given or []}
    for role in PRECEDENCE:
        if role in roles and role in ROLES:
            return role
    raise SignInFailed(f"the identity provider gave no console role in {claim!r}")


class OidcClient:
    def __init__(self, settings: ConsoleSettings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_redirect_url):
            raise ValueError("OIDC needs OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_REDIRECT_URL")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self._secret = settings.oidc_client_secret
        self._redirect = settings.oidc_redirect_url
        self._scopes = settings.oidc_scopes
        self._roles_claim = settings.oidc_roles_claim
        self._post_logout = settings.oidc_post_logout_redirect_url
        self._metadata: dict[str, Any] | None = None
        self._keys: jwt.PyJWKClient | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            async with httpx.AsyncClient(timeout=10.0) as client:
                reply = await client.get(f"{self.issuer}/.well-known/openid-configuration")
                reply.raise_for_status()
                found: dict[str, Any] = reply.json()
            if found.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInFailed("the discovery document names another issuer")
            self._metadata = found
            self._keys = jwt.PyJWKClient(found["jwks_uri"])
        return self._metadata

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self._secret,
            scope=self._scopes,
            redirect_uri=self._redirect,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_post" if self._secret else "none",
        )

    async def start(self) -> tuple[str, Flow]:
        """Where to send the browser, and what the callback must match."""
        meta = await self.metadata()
        flow = Flow(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
        )
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=flow.state,
                code_verifier=flow.code_verifier,
                nonce=flow.nonce,
            )
        return str(url), flow

    async def finish(self, flow: Flow, code: str, state: str) -> Identity:
        """Trade the code for tokens (with the PKCE verifier) and check the ID token."""
        if not secrets.compare_digest(state, flow.state):
            raise SignInFailed("the state does not match this sign-in")
        meta = await self.metadata()
        async with self._client() as client:
            tokens = await client.fetch_token(
                meta["token_endpoint"], code=code, code_verifier=flow.code_verifier
            )
        claims = await run_in_threadpool(self._verify, str(tokens.get("id_token", "")))
        if claims.get("nonce") != flow.nonce:
            raise SignInFailed("the ID token's nonce does not match this sign-in")
        username = str(claims.get("preferred_username") or claims["sub"])
        return Identity(
            username=username[:100],
            role=role_of(claims, self._roles_claim),
            tokens=_tokens(tokens),
        )

    async def refresh(self, refresh_token: str) -> Tokens:
        """A new access token for the session (refresh_token grant, RFC 6749 section 6). The
        IdP may rotate the refresh token; one it does not send again stays valid. A new ID
        token, when sent, is verified as at sign-in (its nonce is not repeated on refresh)."""
        meta = await self.metadata()
        try:
            async with self._client() as client:
                answer = await client.refresh_token(
                    meta["token_endpoint"], refresh_token=refresh_token
                )
        except (AuthlibBaseError, httpx.HTTPError, KeyError) as exc:
            raise RefreshFailed(str(exc)) from None
        if not answer.get("access_token"):
            raise RefreshFailed("the IdP sent no access token")
        renewed = _tokens(answer)
        if renewed.id_token:
            try:
                await run_in_threadpool(self._verify, renewed.id_token)
            except SignInFailed as exc:
                raise RefreshFailed(str(exc)) from None
        return renewed

    async def end_session_url(self, id_token: str | None, after: str) -> str | None:
        """Where to send the browser to sign out at the IdP too (RP-initiated logout), or
        None when the IdP publishes no end_session_endpoint."""
        try:
            meta = await self.metadata()
        except (httpx.HTTPError, SignInFailed, KeyError, ValueError):
            return None
        endpoint = meta.get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    @property
    def post_logout_url(self) -> str:
        """Where the IdP sends the browser after signing out: the console's sign-in page."""
        if self._post_logout:
            return self._post_logout
        parts = urlsplit(self._redirect)
        return urlunsplit((parts.scheme, parts.netloc, "/login", "", ""))

    def _verify(self, id_token: str) -> dict[str, Any]:
        assert self._keys is not None
        try:
            key = self._keys.get_signing_key_from_jwt(id_token).key
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=["RS256", "ES256", "PS256"],
                audience=self.client_id,
                issuer=self._metadata["issuer"] if self._metadata else self.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise SignInFailed(f"the ID token is not valid: {exc}") from None
        return claims


def _tokens(answer: dict[str, Any]) -> Tokens:
    expires_in = answer.get("expires_in")
    expires_at = datetime.now(UTC) + timedelta(seconds=int(expires_in)) if expires_in else None
    return Tokens(
        access_token=str(answer["access_token"]),
        expires_at=expires_at,
        refresh_token=str(answer["refresh_token"]) if answer.get("refresh_token") else None,
        id_token=str(answer["id_token"]) if answer.get("id_token") else None,
    )
