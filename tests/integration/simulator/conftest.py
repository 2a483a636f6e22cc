"""A real case-service process (`python -m case_service`) on a free port, per database."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from arrears_dev.embedded._process import spawn, tail
from arrears_dev.embedded.ports import LOOPBACK, free_port
from arrears_dev.embedded.postgres import create_database, drop_database, with_database
from arrears_dev.testing.names import unique_name
from eventsourcing.cipher import AESCipher

JWT_SECRET = "simulator-test-secret-that-is-long-enough"
STARTUP_TIMEOUT = 60.0

# start() -> URL; start(clock_file) runs it on that file clock (CLOCK_FILE).
StartCaseService = Callable[..., str]


def _wait_healthy(url: str, process: object, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:  # type: ignore[attr-defined]
            raise RuntimeError(f"case-service exited:\n{tail(log)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"case-service is not healthy:\n{tail(log)}")
        time.sleep(0.2)


@pytest.fixture
def start_case_service(postgres_url_base: str, tmp_path: Path) -> Iterator[StartCaseService]:
    """Each call starts one more case-service on its own fresh database; returns its URL."""
    with ExitStack() as stack:

        def start(clock_file: Path | None = None) -> str:
            name = unique_name("sim")
            create_database(postgres_url_base, name)
            stack.callback(drop_database, postgres_url_base, name)
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": with_database(postgres_url_base, name),
                "JWT_SECRET": JWT_SECRET,
                "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
                "HTTP_HOST": LOOPBACK,
                "HTTP_PORT": str(port),
                "SERVICE_NAME": "case-service",
                "LOG_LEVEL": "WARNING",
            }
            if clock_file is not None:
                env["CLOCK_FILE"] = str(clock_file)
            log_path = tmp_path / f"case-service-{name}.log"
            with log_path.open("ab") as log:
                process = spawn([sys.executable, "-m", "case_service"], log=log, env=env)
            stack.callback(_stop, process)
            url = f"http://{LOOPBACK}:{port}"
            _wait_healthy(url, process, log_path)
            return url

        yield start


def _stop(process: object) -> None:
    import subprocess

    assert isinstance(process, subprocess.Popen)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
