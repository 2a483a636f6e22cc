"""The whole embedded system for end-to-end tests: every service as its own process, on the
test session's PostgreSQL (one database each) and broker, on free loopback ports."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from arrears.auth import issue_token
from arrears.clock import release_file_clock, set_file_clock
from arrears.messaging.envelope import Envelope, parse
from arrears_dev.embedded._process import spawn, tail
from arrears_dev.embedded.ports import LOOPBACK, free_port
from arrears_dev.embedded.postgres import create_database, with_database
from arrears_dev.testing.names import unique_name
from eventsourcing.cipher import AESCipher

JWT_SECRET = "e2e-secret-that-is-long-enough-for-hs256"
STARTUP_TIMEOUT = 90.0


@dataclass
class Service:
    name: str
    module: str
    url: str | None
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class System:
    services: dict[str, Service] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    kafka_bootstrap_servers: str = ""
    databases: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # what every service was started with
    demo_users: dict[str, str] = field(default_factory=dict)  # console user -> password
    # Every service reads business time from this file while it exists (arrears.clock.FileClock),
    # so a test can let days pass (aging is refused for a day after the services' today).
    clock_file: Path | None = None

    def move_clock(self, instant: datetime) -> None:
        assert self.clock_file is not None
        set_file_clock(self.clock_file, instant)

    def release_clock(self) -> None:
        if self.clock_file is not None:
            release_file_clock(self.clock_file)

    def url(self, service: str) -> str:
        url = self.services[service].url
        assert url is not None, f"{service} has no HTTP API"
        return url

    def client(self, service: str, role: str) -> httpx.Client:
        token = issue_token(JWT_SECRET, role, f"e2e-{role}", timedelta(hours=1))
        return httpx.Client(
            base_url=self.url(service),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )

    def logs(self) -> str:
        return "\n".join(f"--- {s.name}\n{tail(s.log)}" for s in self.services.values())


def runnable(module: str) -> bool:
    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def _wait_healthy(service: Service) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited:\n{tail(service.log)}")
        try:
            if httpx.get(f"{service.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} is not healthy:\n{tail(service.log)}")
        time.sleep(0.2)


@contextmanager
def running_system(
    postgres_url_base: str,
    kafka_bootstrap_servers: str,
    logs: Path,
    extra_env: dict[str, str],
    *,
    console: bool = False,
) -> Iterator[System]:
    """Start case-service, its relay, contact-service and legal-service (those that exist),
    and with `console` the console too, its demo users' passwords in `system.demo_users`."""
    system = System(kafka_bootstrap_servers=kafka_bootstrap_servers)
    suffix = unique_name("e2e")
    system.topics = {
        "case_events": f"collections.case-events.{suffix}",
        "contact_tasks": f"collections.contact-tasks.{suffix}",
        "legal_tasks": f"collections.legal-tasks.{suffix}",
    }
    ports = {name: free_port() for name in ("case", "contact", "legal", "relay_metrics", "console")}
    case_url = f"http://{LOOPBACK}:{ports['case']}"
    base_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers,
        "JWT_SECRET": JWT_SECRET,
        "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
        "HTTP_HOST": LOOPBACK,
        "CASE_SERVICE_URL": case_url,
        "CONTACT_SERVICE_URL": f"http://{LOOPBACK}:{ports['contact']}",
        "LEGAL_SERVICE_URL": f"http://{LOOPBACK}:{ports['legal']}",
        "RELAY_TOPIC": system.topics["case_events"],
        "RELAY_METRICS_PORT": str(ports["relay_metrics"]),
        "CASE_EVENTS_TOPIC": system.topics["case_events"],
        "CONTACT_TASKS_TOPIC": system.topics["contact_tasks"],
        "LEGAL_TASKS_TOPIC": system.topics["legal_tasks"],
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    system.clock_file = logs / "business-clock"
    base_env["CLOCK_FILE"] = str(system.clock_file)
    system.env = base_env
    specs: list[tuple[str, str, int | None, str]] = [
        ("case-service", "case_service", ports["case"], "case"),
        ("case-relay", "case_service.relay", None, "case"),
        ("contact-service", "contact_service", ports["contact"], "contact"),
        ("legal-service", "legal_service", ports["legal"], "legal"),
    ]
    if console:
        specs.append(("console", "console_service", ports["console"], "console"))
    logs.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for name, module, port, database in specs:
            if not runnable(module):
                continue
            if database not in system.databases:
                db_name = f"{suffix}_{database}"
                create_database(postgres_url_base, db_name)
                system.databases[database] = with_database(postgres_url_base, db_name)
            env = {**base_env, "SERVICE_NAME": name, "DATABASE_URL": system.databases[database]}
            if port is not None:
                env["HTTP_PORT"] = str(port)
            log_path = logs / f"{name}.log"
            if module == "console_service":
                system.demo_users = _demo_users(env, logs / "console-users.json")
            with log_path.open("ab") as log:
                process = spawn([sys.executable, "-m", module], log=log, env=env)
            stack.callback(_stop, process)
            url = f"http://{LOOPBACK}:{port}" if port is not None else None
            system.services[name] = Service(name, module, url, process, log_path)
        for service in system.services.values():
            if service.url is not None:
                _wait_healthy(service)
        yield system


def _demo_users(env: dict[str, str], path: Path) -> dict[str, str]:
    """The console's demo users, created as `make run` creates them (the CLI)."""
    command = [sys.executable, "-m", "console_service", "create-demo-users"]
    subprocess.run([*command, "--secrets-file", str(path)], env=env, check=True, timeout=60)
    users: dict[str, str] = json.loads(path.read_text())
    return users


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(check: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll `check()` until it returns something truthy; its last value otherwise fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last value: {value!r}")
        time.sleep(interval)


def read_topic(
    system: System,
    topic: str,
    subject: str,
    enough: Callable[[list[Envelope]], bool] = bool,
    timeout: float = 90.0,
) -> list[Envelope]:
    """A topic's envelopes about `subject` (a case), from the start, once `enough` of them
    are there; each must be keyed by its subject."""

    async def read() -> list[Envelope]:
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=system.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        found: list[Envelope] = []
        try:
            async with asyncio.timeout(timeout):
                while not enough(found):
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        for record in records:
                            envelope = parse(record.value)
                            if envelope.subject == subject:
                                assert record.key == subject.encode()
                                found.append(envelope)
        finally:
            await consumer.stop()
        return found

    return asyncio.run(read())
