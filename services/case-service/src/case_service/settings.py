"""case-service settings, from the environment."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from arrears.settings import ServiceSettings
from pydantic import Field


class CaseServiceSettings(ServiceSettings):
    service_name: str = "case-service"
    http_port: int = 8001
    database_url: str = "postgresql://postgres@127.0.0.1:5433/arrears_case"
    # A snapshot every N events keeps any state, old or new, a short replay away.
    http_workers: int = 1
    # True when other processes write this store too (several pods, the aging CLI beside a
    # running API): each batch then brings its cached cases up to date first. Several
    # HTTP_WORKERS imply it.
    shared_store_writers: bool = False
    snapshot_interval: int = 50
    # Processes that prepare large daily files (read, check, encode) beside the server's;
    # started by the API server only, 0 = prepare in the server process (daily_file/).
    daily_file_workers: int = Field(default=2, ge=0, le=32)
    aggregate_cache_size: int = 20_000
    # Whether this process lets the library create its tables if missing (CREATE TABLE IF NOT
    # EXISTS). The daily file's workers say no: their store exists (the server opened it
    # first), and several processes running those statements at once fail in PostgreSQL
    # ("tuple concurrently updated").
    create_tables: bool = True
    db_pool_size: int = 8
    db_max_overflow: int = 8
    command_batch_max: int = 500
    # How long the command writer waits for more commands before committing a batch, while
    # commands come together (executor.py); 0 commits whatever has queued at once. 2 ms: on
    # the quiet machine 32 clients got 2,300-2,440 commands/s against 2,100-2,200 at 4 ms
    # (docs/benchmarks.md); on a loaded one, 4 ms gathers larger batches.
    command_batch_linger_ms: float = Field(default=2.0, ge=0, le=50)
    promise_horizon_days: int = 30
    limitation_years: int = 3
    # The audit log's name (the checkpoints' origin line and key name) and the verifier key
    # the API publishes (`<name>+<key id>+<base64>`, docs/audit.md).
    # Former CIPHER_KEYs (comma-separated), still read, never written (rotation, cipher.py).
    cipher_old_keys: str = Field(default="", repr=False)
    # Personal data per subject (case_service.pii): the key naming subjects (base64; default
    # derived from CIPHER_KEY, so set it before rotating CIPHER_KEY), how long a process keeps
    # an unwrapped subject key, and years after closure until erasure, per jurisdiction.
    subject_ref_key: str = Field(default="", repr=False)
    subject_key_cache_seconds: float = Field(default=300.0, ge=0, le=3600)
    retention_years: dict[str, int] = Field(
        default_factory=lambda: {"CN": 5, "UK-CONC": 6, "US-RegF": 7}
    )
    checkpoint_origin: str = "arrears/case-service"
    checkpoint_public_key: str = ""
    # The jurisdiction of a case opened without one (domain/jurisdiction.py): by product,
    # then borrower country, then currency (JSON objects in the environment), else default.
    default_jurisdiction: str = "CN"
    # Jurisdictions whose 3:3:3 reading counts the bank's caller lines (JSON list).
    lost_contact_caller_lines: list[str] = Field(default_factory=list)
    jurisdiction_by_product: dict[str, str] = Field(default_factory=dict)
    jurisdiction_by_country: dict[str, str] = Field(
        default_factory=lambda: {"CN": "CN", "US": "US-RegF", "GB": "UK-CONC"}
    )
    jurisdiction_by_currency: dict[str, str] = Field(
        default_factory=lambda: {"USD": "US-RegF", "GBP": "UK-CONC"}
    )


def eventsourcing_env(settings: CaseServiceSettings) -> dict[str, str]:
    """Translate our settings into the eventsourcing library's environment variables."""
    url = urlparse(settings.database_url)
    if url.scheme not in {"postgresql", "postgres"}:
        raise ValueError("DATABASE_URL must be a postgresql:// URL")
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "case_service.persistence:CaseEventRecorder",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.db_max_overflow),
        "POSTGRES_PRE_PING": "n",  # persistence.check_connection instead
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "CREATE_TABLE": "y" if settings.create_tables else "n",
        "IS_SNAPSHOTTING_ENABLED": "y",
        # No library cache: the command writer keeps its own (case_service.case_cache), and
        # reads rebuild from the latest snapshot, so a reader never copies a case mid-write.
    }
    if settings.cipher_key:
        env["CIPHER_TOPIC"] = "case_service.cipher:FastAESCipher"
        env["CIPHER_KEY"] = settings.cipher_key
        if settings.cipher_old_keys:
            env["CIPHER_OLD_KEYS"] = settings.cipher_old_keys
    return env
