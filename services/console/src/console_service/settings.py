"""console settings, from the environment."""

from __future__ import annotations

from arrears.settings import ServiceSettings


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
    db_pool_size: int = 5
