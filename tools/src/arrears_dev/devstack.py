"""`python -m arrears_dev.devstack run|token|password`: the embedded default behind `make run`,
`make token` and `make password`.

`run` starts PostgreSQL and the broker from pip wheels, then every service as a child
process, prints where they are, and on Ctrl-C or SIGTERM stops the services, then the
broker, then PostgreSQL. State lives under `.data/` (or $ARREARS_DATA_DIR): the
database, the generated secrets, the console's demo users' passwords and one log per service.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from types import FrameType

import httpx
from arrears.clock import release_file_clock

from arrears_dev.embedded._process import spawn, tail
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import LOOPBACK, port_is_open
from arrears_dev.embedded.postgres import EmbeddedPostgres

HEALTH_TIMEOUT = 60.0
STOP_GRACE = 10.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    http_port: int | None
    database: str


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("case-service", "case_service", 8001, "arrears_case"),
    ServiceSpec("case-relay", "case_service.relay", None, "arrears_case"),
    ServiceSpec("contact-service", "contact_service", 8002, "arrears_contact"),
    ServiceSpec("legal-service", "legal_service", 8003, "arrears_legal"),
    ServiceSpec("console", "console_service", 8000, "arrears_console"),
)
DATABASES = ("arrears_case", "arrears_contact", "arrears_legal", "arrears_console")
CONSOLE_USERS = "console-users.json"  # the demo users' generated passwords, under the data dir


@dataclass(frozen=True)
class Secrets:
    cipher_key: str
    jwt_secret: str


def data_dir() -> Path:
    configured = os.environ.get("ARREARS_DATA_DIR")
    return Path(configured) if configured else Path.cwd() / ".data"


def load_or_create_secrets(directory: Path) -> Secrets:
    """The secrets in `directory/secrets.json`, generated on first use and kept for later runs
    (a new cipher key would make the stored personal data unreadable)."""
    path = directory / "secrets.json"
    if not path.exists():
        import secrets

        from eventsourcing.cipher import AESCipher

        fresh = Secrets(AESCipher.create_key(num_bytes=32), secrets.token_urlsafe(48))
        directory.mkdir(parents=True, exist_ok=True)
        draft = directory / f".secrets.{os.getpid()}.json"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as file:
            json.dump(asdict(fresh), file)
        try:
            os.link(draft, path)  # atomic and never overwrites: a concurrent first run wins
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    stored = json.loads(path.read_text())
    return Secrets(cipher_key=stored["cipher_key"], jwt_secret=stored["jwt_secret"])


def _runnable(spec: ServiceSpec) -> bool:
    try:
        found = importlib.util.find_spec(spec.module)
        # `python -m package` needs package/__main__.py.
        if found is not None and found.submodule_search_locations is not None:
            found = importlib.util.find_spec(f"{spec.module}.__main__")
    except ModuleNotFoundError:
        return False
    return found is not None


@dataclass
class RunningService:
    spec: ServiceSpec
    process: subprocess.Popen[bytes]
    log_path: Path
    reported_exit: bool = False


def _start_service(spec: ServiceSpec, env: dict[str, str], logs: Path) -> RunningService:
    if spec.http_port is not None and port_is_open(spec.http_port):
        raise RuntimeError(
            f"{spec.name}: port {spec.http_port} is already in use (is another `make run` up?)"
        )
    log_path = logs / f"{spec.name}.log"
    with log_path.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {spec.name}\n".encode())
        log.flush()
        process = spawn([sys.executable, "-m", spec.module], log=log, env=env)
    return RunningService(spec, process, log_path)


def _wait_healthy(service: RunningService) -> None:
    url = f"http://{LOOPBACK}:{service.spec.http_port}/healthz"
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while True:
        if service.process.poll() is not None:
            raise RuntimeError(
                f"{service.spec.name} exited with {service.process.returncode}; "
                f"the end of {service.log_path}:\n{tail(service.log_path)}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{service.spec.name} did not answer {url} within {HEALTH_TIMEOUT:.0f} s; "
                f"the end of {service.log_path}:\n{tail(service.log_path)}"
            )
        time.sleep(0.2)


def _stop_services(services: list[RunningService]) -> None:
    """SIGTERM to all at once, then SIGKILL whatever is still running after the grace."""
    for service in services:
        if service.process.poll() is None:
            service.process.terminate()
    deadline = time.monotonic() + STOP_GRACE
    for service in services:
        try:
            service.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{service.spec.name} ignored SIGTERM; killing it", file=sys.stderr)
            service.process.kill()
            service.process.wait()


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _already_stopping(_signum: int, _frame: FrameType | None) -> None:
    print("stopping already; please wait", file=sys.stderr)


def run() -> int:
    root = data_dir().resolve()
    (root / "logs").mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops us as cleanly as Ctrl-C
    try:
        with ExitStack() as stack:
            try:
                stack.enter_context(_exclusive(root))
                _start_all(stack, root, load_or_create_secrets(root))
            finally:
                # Interrupting the orderly shutdown below would only leave more behind.
                signal.signal(signal.SIGINT, _already_stopping)
                signal.signal(signal.SIGTERM, _already_stopping)
    except KeyboardInterrupt:
        print("stopped")
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """One `run` per data folder. Holding this lock also proves that a PostgreSQL still
    running on the folder is an orphan of a killed run, which EmbeddedPostgres then stops."""
    with (root / "devstack.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another `make run` is using {root}") from None
        yield


def _start_all(stack: ExitStack, root: Path, secrets: Secrets) -> None:
    """Start everything, registering each stop on `stack` before its start: the stack unwinds
    last-in first-out, so services stop before the broker, and the broker before PostgreSQL."""
    logs = root / "logs"
    postgres = EmbeddedPostgres(root / "postgres", int(os.environ.get("ARREARS_PG_PORT", "5433")))
    stack.callback(postgres.stop)
    postgres.start()
    for name in DATABASES:
        postgres.create_database(name)
    broker_port = int(os.environ.get("ARREARS_KAFKA_PORT", "9092"))
    broker = EmbeddedBroker(broker_port, log_path=logs / "broker.log")
    stack.callback(broker.stop)
    broker.start()
    services: list[RunningService] = []
    stack.callback(_stop_services, services)
    clock_env = _demo_clock(stack, root)
    base_env = {
        **os.environ,
        **clock_env,  # the simulator's clock, whatever CLOCK_FILE the shell has
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "CIPHER_KEY": secrets.cipher_key,
        "JWT_SECRET": secrets.jwt_secret,
        "HTTP_HOST": LOOPBACK,
        "CASE_SERVICE_URL": f"http://{LOOPBACK}:8001",
        "CONTACT_SERVICE_URL": f"http://{LOOPBACK}:8002",
        "LEGAL_SERVICE_URL": f"http://{LOOPBACK}:8003",
        "PYTHONUNBUFFERED": "1",
    }
    for spec in SERVICES:
        if not _runnable(spec):
            print(f"note: {spec.name} skipped: module {spec.module} is not runnable yet")
            continue
        env = {**base_env, "SERVICE_NAME": spec.name, "DATABASE_URL": postgres.url(spec.database)}
        if spec.http_port is not None:
            env["HTTP_PORT"] = str(spec.http_port)
        if spec.module == "console_service":
            _create_demo_users(env, root, logs)
        services.append(_start_service(spec, env, logs))
    for service in services:
        if service.spec.http_port is not None:
            _wait_healthy(service)
    if clock_env:
        _seed_demo_portfolio(stack, services, root, clock_env["CLOCK_FILE"])
    _print_banner(services, broker, postgres, logs)
    _watch(services)


def _create_demo_users(env: dict[str, str], root: Path, logs: Path) -> None:
    """One console user per role on first start (an existing user keeps its password); the
    passwords go to CONSOLE_USERS for `make password`."""
    command = [sys.executable, "-m", "console_service", "create-demo-users"]
    command += ["--secrets-file", str(root / CONSOLE_USERS)]
    with (logs / "console.log").open("ab") as log:
        # Our own interpreter and module, arguments of our making: nothing untrusted.
        done = subprocess.run(  # noqa: S603
            command, env=env, stdout=log, stderr=log, timeout=120, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"creating the console's demo users failed; see {logs}/console.log")


def _demo_clock(stack: ExitStack, root: Path) -> dict[str, str]:
    """The services' CLOCK_FILE while the demo seeds (ARREARS_SEED=0: none, the system
    clock). The simulator moves it through the simulated days, so promises break on their
    days, then removes it; one left by an interrupted run is removed before and after."""
    if os.environ.get("ARREARS_SEED", "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    clock_file = root / "demo-clock"
    release_file_clock(clock_file)
    stack.callback(release_file_clock, clock_file)
    return {"CLOCK_FILE": str(clock_file)}


def _seed_demo_portfolio(
    stack: ExitStack, services: Sequence[RunningService], root: Path, clock_file: str
) -> None:
    """Run the portfolio simulator in the background (ARREARS_SEED_LOANS loans, default 300,
    over the last 30 days) on the services' file clock, so the URLs print at once; its log
    is logs/simulator.log. It skips a store already seeded (opening is idempotent on the
    loan id anyway)."""
    urls = {
        s.spec.name: f"http://{LOOPBACK}:{s.spec.http_port}"
        for s in services
        if s.spec.http_port is not None
    }
    if "case-service" not in urls:
        return
    command = [sys.executable, "-m", "arrears_dev.simulator", "--skip-if-seeded", "--seed", "1"]
    command += ["--loans", os.environ.get("ARREARS_SEED_LOANS", "300"), "--days", "30"]
    command += ["--case-url", urls["case-service"], "--secrets-dir", str(root)]
    command += ["--clock-file", clock_file]
    for name, flag in (("contact-service", "--contact-url"), ("legal-service", "--legal-url")):
        if name in urls:
            command += [flag, urls[name]]
    log_path = root / "logs" / "simulator.log"
    with log_path.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} seeding the demo\n".encode())
        log.flush()
        env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
        env["PYTHONUNBUFFERED"] = "1"
        process = spawn(command, log=log, env=env)
    stack.callback(_stop_process, process)
    print(f"seeding a demo portfolio in the background: {log_path}", flush=True)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _print_banner(
    services: Sequence[RunningService],
    broker: EmbeddedBroker,
    postgres: EmbeddedPostgres,
    logs: Path,
) -> None:
    lines = ["", "Arrears is running (Ctrl-C stops it):"]
    for service in services:
        port = service.spec.http_port
        where = f"http://{LOOPBACK}:{port}/docs" if port is not None else "(worker)"
        if service.spec.module == "console_service":
            where = f"http://{LOOPBACK}:{port}/login"
        lines.append(f"  {service.spec.name:<16} {where}")
    lines.append(f"  {'broker':<16} {broker.bootstrap_servers}")
    for name in DATABASES:
        lines.append(f"  {'database':<16} {postgres.url(name)}")
    lines.append(f"  {'logs':<16} {logs}/")
    lines.append("A bearer token: make token ROLE=collector  (roles: see arrears.auth.ROLES)")
    if any(s.spec.module == "console_service" for s in services):
        users = ", ".join(_demo_users(data_dir()))
        lines.append(f"Console users: {users}")
        lines.append("A console user's password: make -s password USER=collector1")
    print("\n".join(lines), flush=True)


def _watch(services: Sequence[RunningService]) -> None:
    """Wait for Ctrl-C / SIGTERM, telling the user once about any service that dies."""
    while True:
        for service in services:
            if not service.reported_exit and service.process.poll() is not None:
                service.reported_exit = True
                print(
                    f"warning: {service.spec.name} exited with {service.process.returncode}; "
                    f"the end of {service.log_path}:\n{tail(service.log_path, 20)}",
                    file=sys.stderr,
                    flush=True,
                )
        time.sleep(1.0)


def token(role: str, subject: str | None, ttl_hours: float) -> int:
    from arrears.auth import issue_token

    secrets = load_or_create_secrets(data_dir())
    try:
        print(
            issue_token(
                secrets.jwt_secret, role, subject or f"dev-{role}", timedelta(hours=ttl_hours)
            )
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo_users(root: Path) -> dict[str, str]:
    path = root / CONSOLE_USERS
    if not path.exists():
        return {}
    users: dict[str, str] = json.loads(path.read_text())
    return users


def password(user: str) -> int:
    found = _demo_users(data_dir()).get(user)
    if found is None:
        print(
            f"error: no console demo user {user!r} (has `make run` started once?)",
            file=sys.stderr,
        )
        return 1
    print(found)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arrears_dev.devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start PostgreSQL, the broker and every service")
    token_parser = commands.add_parser("token", help="print a bearer token for the running system")
    token_parser.add_argument("--role", required=True)
    token_parser.add_argument("--subject", default=None)
    token_parser.add_argument("--ttl-hours", type=float, default=12.0)
    password_parser = commands.add_parser("password", help="print a console demo user's password")
    password_parser.add_argument("--user", required=True)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run()
    if args.command == "password":
        return password(args.user)
    return token(args.role, args.subject, args.ttl_hours)


if __name__ == "__main__":
    sys.exit(main())
