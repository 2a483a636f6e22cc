"""Typed settings shared by every service, read from the environment."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every Arrears service needs. Each service subclasses it for its own knobs."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "arrears"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    database_url: str = "postgresql://postgres@127.0.0.1:5433/arrears"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Auth: an HS256 shared secret (embedded default) or a JWKS URL (production IdP).
    jwt_secret: str | None = None
    jwt_jwks_url: str | None = None
    # Required claims: the embedded default issues and requires its own issuer and audience;
    # production names the bank's identity provider. A token living longer is refused.
    jwt_audience: str = Field(default="arrears", min_length=1)
    jwt_issuer: str = Field(default="arrears-embedded", min_length=1)
    jwt_max_lifetime_seconds: int = Field(default=86_400, ge=60, le=7 * 86_400)
    log_level: str = "INFO"
    log_json: bool = True
    # Personal data in events is encrypted at rest with this AES key (base64, 16/24/32 bytes).
    cipher_key: str | None = Field(default=None, repr=False)
    # Demos and benchmarks only: business time read from this file, which the portfolio
    # simulator moves day by day (arrears.clock.FileClock). Unset: the system clock.
    clock_file: str | None = None
    # Upgrade the service's schema to head at start-up (tests, the embedded demo). Off, the
    # default for production: a service only checks its schema is at head and refuses to
    # start otherwise; `python -m <service> migrate` (a Job before the rollout) upgrades it.
    migrate_on_start: bool = False
    # The zone of the bank's business calendar: days past due and buckets count its dates
    # (arrears.business_date), in every service alike.
    business_timezone: str = "Asia/Shanghai"
