"""console settings, from the environment."""

from __future__ import annotations

from arrears.settings import ServiceSettings
from pydantic import Field


class ConsoleSettings(ServiceSettings):
    service_name: str = "console"
    http_port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:5433/arrears_console"
    case_service_url: str = "http://127.0.0.1:8001"
    contact_service_url: str = "http://127.0.0.1:8002"
    legal_service_url: str = "http://127.0.0.1:8003"
    # A session unused for this long is over; the user signs in again.
    session_idle_minutes: int = 30
    # The Secure flag on the session cookie: "auto" sets it when the request came over HTTPS
    # (X-Forwarded-Proto from the ingress counts), "always" / "never" force it.
    cookie_secure: str = "auto"
    # Where `create-demo-users` writes the demo passwords (make run: .data/console-users.json).
    demo_users_file: str | None = None
    # Minutes the token minted for the services lives (embedded sign-in only).
    service_token_minutes: int = 15
    backend_timeout_seconds: float = 10.0
    # OpenID Connect sign-in (production): the IdP's issuer URL (its discovery document is at
    # <issuer>/.well-known/openid-configuration) and this console's client registration.
    # Set: /login offers the IdP (authorization code with PKCE) and the services receive the
    # user's access token instead of a minted one.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_redirect_url: str | None = None  # https://console.bank.example/login/oidc/callback
    oidc_scopes: str = "openid profile"
    oidc_roles_claim: str = "roles"  # a claim listing the user's roles (or one role)
    # Where the IdP sends the browser after sign-out (registered with it); default: /login
    # at the redirect URL's host.
    oidc_post_logout_redirect_url: str | None = None
    # Renew the IdP's access token this many seconds before it expires (with its refresh
    # token; offline_access in OIDC_SCOPES where the IdP needs it for one).
    oidc_refresh_margin_seconds: int = 60
    # Local users with passwords beside the IdP (break-glass); off by default with OIDC.
    local_sign_in: bool | None = None
    db_pool_size: int = 5
