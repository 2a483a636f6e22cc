"""A small OpenID Connect provider for tests: discovery, authorize (PKCE), token (the
authorization code grant and the refresh_token grant, refresh tokens rotated on each use),
JWKS and an end_session_endpoint (RP-initiated logout); RS256 tokens from a key made per run.
Served by uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
import uvicorn
from arrears_dev.embedded.ports import LOOPBACK, free_port
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, HTTPException
from fastapi.responses import RedirectResponse


@dataclass
class FakeIdp:
    url: str = ""
    client_id: str = "console"
    client_secret: str = "console-client-secret"
    roles: list[str] = field(default_factory=lambda: ["auditor"])
    wrong_nonce: bool = False
    issued: dict[str, str] = field(default_factory=dict)  # the last tokens issued
    expires_in: int = 600  # the access tokens' lifetime, seconds
    end_session: bool = True  # publish an end_session_endpoint
    refuse_refresh: bool = False
    refreshes: int = 0
    logouts: list[dict[str, str]] = field(default_factory=list)  # end_session requests
    _refresh_tokens: set[str] = field(default_factory=set)  # valid (unused) refresh tokens
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)
    _key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def _sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": "k1"})

    def _tokens(self, nonce: str | None) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.url, "sub": "u-7", "iat": now, "exp": now + self.expires_in}
        access = self._sign(
            {**base, "aud": "arrears", "roles": self.roles, "jti": secrets.token_hex(8)}
        )
        identity = {
            **base,
            "aud": self.client_id,
            "preferred_username": "wang.fang",
            "roles": self.roles,
        }
        if nonce is not None:
            identity["nonce"] = nonce
        refresh = secrets.token_urlsafe(24)
        self._refresh_tokens.add(refresh)
        self.issued.update(
            access_token=access, refresh_token=refresh, id_token=self._sign(identity)
        )
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": refresh,
            "id_token": self.issued["id_token"],
        }

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            found = {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
            }
            if self.end_session:
                found["end_session_endpoint"] = f"{self.url}/logout"
            return found

        @app.get("/logout")
        def logout(
            post_logout_redirect_uri: str, client_id: str, id_token_hint: str = ""
        ) -> RedirectResponse:
            self.logouts.append(
                {
                    "id_token_hint": id_token_hint,
                    "client_id": client_id,
                    "post_logout_redirect_uri": post_logout_redirect_uri,
                }
            )
            return RedirectResponse(post_logout_redirect_uri)

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
            return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

        @app.get("/authorize")
        def authorize(
            client_id: str,
            redirect_uri: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: str,
            response_type: str,
        ) -> RedirectResponse:
            if (client_id, response_type, code_challenge_method) != (
                self.client_id,
                "code",
                "S256",
            ):
                raise HTTPException(400, "invalid_request")
            code = secrets.token_urlsafe(16)
            self._codes[code] = {
                "challenge": code_challenge,
                "nonce": nonce,
                "redirect": redirect_uri,
            }
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

        @app.post("/token")
        def token(
            grant_type: str = Form(),
            client_id: str = Form(),
            client_secret: str = Form(),
            code: str = Form(""),
            redirect_uri: str = Form(""),
            code_verifier: str = Form(""),
            refresh_token: str = Form(""),
        ) -> dict[str, Any]:
            if (client_id, client_secret) != (self.client_id, self.client_secret):
                raise HTTPException(401, "invalid_client")
            if grant_type == "refresh_token":
                if self.refuse_refresh or refresh_token not in self._refresh_tokens:
                    raise HTTPException(400, "invalid_grant")
                self._refresh_tokens.discard(refresh_token)  # rotated: each works once
                self.refreshes += 1
                return self._tokens(nonce=None)
            grant = self._codes.pop(code, None)
            digest = hashlib.sha256(code_verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                grant is None
                or grant_type != "authorization_code"
                or grant["challenge"] != challenge
                or grant["redirect"] != redirect_uri
            ):
                raise HTTPException(400, "invalid_grant")
            return self._tokens(nonce="not-yours" if self.wrong_nonce else grant["nonce"])

        return app


@contextmanager
def running_idp() -> Iterator[FakeIdp]:
    port = free_port()
    idp = FakeIdp(url=f"http://{LOOPBACK}:{port}")
    server = uvicorn.Server(
        uvicorn.Config(idp.app(), host=LOOPBACK, port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake IdP did not start")
        time.sleep(0.05)
    try:
        yield idp
    finally:
        server.should_exit = True
        thread.join(10)
