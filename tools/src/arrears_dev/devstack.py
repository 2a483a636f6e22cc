"""`python -m arrears_dev.devstack run|token|password`: the embedded default behind `make run`,
`make token` and `make password`.

`run` starts PostgreSQL and the broker from pip wheels, migrates each service's database
(`python -m <service> migrate`, as the Kubernetes Job does), then every service as a child
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
from arrears_dev.supervisor import ProcessChild, ServerChild, Supervisor, stop_processes

HEALTH_TIMEOUT = 60.0
STOP_GRACE = 10.0
# The demo seeds before the URLs are printed; past this it is stopped and the system runs on.
SEED_TIMEOUT = 240.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    http_port: int | None
    database: str


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("case-service", "case_service", 8001, "arrears_case"),
    ServiceSpec("case-relay", "case_service.relay", None, "arrears_case"),
    ServiceSpec("case-checkpointer", "case_service.checkpointer", None, "arrears_case"),
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
    # The Ed25519 seed (base64) the checkpointer signs with; docs/audit.md.
    checkpoint_signing_key: str = ""


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

        fresh = Secrets(
            AESCipher.create_key(num_bytes=32), secrets.token_urlsafe(48), _new_signing_key()
        )
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
    if not stored.get("checkpoint_signing_key"):
        stored = _add_signing_key(path)
    return Secrets(
        cipher_key=stored["cipher_key"],
        jwt_secret=stored["jwt_secret"],
        checkpoint_signing_key=stored["checkpoint_signing_key"],
    )


def _new_signing_key() -> str:
    import base64

    return base64.b64encode(os.urandom(32)).decode()  # an Ed25519 private key is any 32 bytes


def _add_signing_key(path: Path) -> dict[str, str]:
    """Give a secrets.json from before checkpoints its signing key, once (under a lock, so
    two first runs never sign with two keys)."""
    with (path.parent / ".secrets.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored: dict[str, str] = json.loads(path.read_text())
        if not stored.get("checkpoint_signing_key"):
            stored["checkpoint_signing_key"] = _new_signing_key()
            draft = path.parent / f".secrets.{os.getpid()}.json"
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as file:
                json.dump(stored, file)
            draft.replace(path)
    return stored


def checkpoint_public_key(signing_key: str) -> str:
    """The verifier key case-service publishes for this seed (case_service.audit.note)."""
    from case_service.audit.note import SignerKey
    from case_service.settings import CaseServiceSettings

    origin = str(CaseServiceSettings.model_fields["checkpoint_origin"].default)
    return SignerKey.from_base64(origin, signing_key).verifier.text()


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
    child: ProcessChild


def _start_service(spec: ServiceSpec, env: dict[str, str], logs: Path) -> RunningService:
    if spec.http_port is not None and port_is_open(spec.http_port):
        raise RuntimeError(
            f"{spec.name}: port {spec.http_port} is already in use (is another `make run` up?)"
        )
    child = ProcessChild(
        spec.name, [sys.executable, "-m", spec.module], logs / f"{spec.name}.log", env, STOP_GRACE
    )
    child.start()
    return RunningService(spec, child)


def _migrate(spec: ServiceSpec, env: dict[str, str], logs: Path) -> None:
    """`python -m <service> migrate` to its end, before any process of it starts."""
    log_path = logs / f"{spec.name}.log"
    with log_path.open("ab") as log:
        done = subprocess.run(  # noqa: S603 (our own module)
            [sys.executable, "-m", spec.module, "migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=HEALTH_TIMEOUT,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"{spec.name}: migrate failed ({done.returncode}); the end of {log_path}:\n"
            f"{tail(log_path)}"
        )


def _wait_healthy(service: RunningService) -> None:
    url = f"http://{LOOPBACK}:{service.spec.http_port}/healthz"
    deadline = time.monotonic() + HEALTH_TIMEOUT
    log_path = service.child.log_path
    assert log_path is not None
    while True:
        if not service.child.alive():
            raise RuntimeError(
                f"{service.spec.name} {service.child.exit_text()}; "
                f"the end of {log_path}:\n{tail(log_path)}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{service.spec.name} did not answer {url} within {HEALTH_TIMEOUT:.0f} s; "
                f"the end of {log_path}:\n{tail(log_path)}"
            )
        time.sleep(0.2)


def _stop_services(services: list[RunningService]) -> None:
    stop_processes([service.child for service in services], STOP_GRACE)


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
        "CHECKPOINT_PUBLIC_KEY": checkpoint_public_key(secrets.checkpoint_signing_key),
        "HTTP_HOST": LOOPBACK,
        "CASE_SERVICE_URL": f"http://{LOOPBACK}:8001",
        "CONTACT_SERVICE_URL": f"http://{LOOPBACK}:8002",
        "LEGAL_SERVICE_URL": f"http://{LOOPBACK}:8003",
        "PYTHONUNBUFFERED": "1",
    }
    runnable = [spec for spec in SERVICES if _runnable(spec)]
    for spec in SERVICES:
        if spec not in runnable:
            print(f"note: {spec.name} skipped: module {spec.module} is not runnable yet")
    for spec in runnable:
        if spec.http_port is not None:  # a service's workers share its database and schema
            _migrate(spec, {**base_env, "DATABASE_URL": postgres.url(spec.database)}, logs)
    for spec in runnable:
        env = {**base_env, "SERVICE_NAME": spec.name, "DATABASE_URL": postgres.url(spec.database)}
        if spec.http_port is not None:
            env["HTTP_PORT"] = str(spec.http_port)
        if spec.name == "case-checkpointer":  # the only process that holds the signing key
            env["CHECKPOINT_SIGNING_KEY"] = secrets.checkpoint_signing_key
        if spec.module == "console_service":
            _create_demo_users(env, root, logs)
        services.append(_start_service(spec, env, logs))
    for service in services:
        if service.spec.http_port is not None:
            _wait_healthy(service)
    if clock_env:
        _seed_demo_portfolio(services, root, clock_env["CLOCK_FILE"])
    _print_banner(services, broker, postgres, logs)
    supervisor = Supervisor()
    supervisor.adopt(ServerChild("postgresql", postgres, postgres.log_path))
    supervisor.adopt(ServerChild("broker", broker, broker.log_path))
    for service in services:
        supervisor.adopt(service.child)
    supervisor.watch()  # until Ctrl-C / SIGTERM, or GaveUp (a RuntimeError: all stop)


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
    """The services' CLOCK_FILE while the demo seeds, before the URLs are printed
    (ARREARS_SEED=0: none, the system clock). The simulator moves it through the simulated
    days, so promises break on their days; it is removed when seeding ends (and one left by
    an interrupted run before and after), so the services answer on real time from then on."""
    if os.environ.get("ARREARS_SEED", "1").strip().lower() in ("0", "false", "no", "off"):
        return {}
    clock_file = root / "demo-clock"
    release_file_clock(clock_file)
    stack.callback(release_file_clock, clock_file)
    return {"CLOCK_FILE": str(clock_file)}


def _seed_demo_portfolio(services: Sequence[RunningService], root: Path, clock_file: str) -> None:
    """Seed the demo (ARREARS_SEED_LOANS loans, default 150, over the last 30 days) before
    the URLs are printed: the simulator walks the services' file clock through those days, so
    promises are kept and broken on their dates, then removes the file. From the banner on,
    every service runs on real time and the demo's history lies in the past (recorded times
    are always the database's). Its log is logs/simulator.log; a store already seeded is
    skipped (opening is idempotent on the loan id anyway); a seed that fails is said and the
    system runs on without it."""
    urls = {
        s.spec.name: f"http://{LOOPBACK}:{s.spec.http_port}"
        for s in services
        if s.spec.http_port is not None
    }
    if "case-service" not in urls:
        return
    command = [sys.executable, "-m", "arrears_dev.simulator", "--skip-if-seeded", "--seed", "1"]
    command += ["--loans", os.environ.get("ARREARS_SEED_LOANS", "150"), "--days", "30"]
    command += ["--case-url", urls["case-service"], "--secrets-dir", str(root)]
    command += ["--clock-file", clock_file]
    for name, flag in (("contact-service", "--contact-url"), ("legal-service", "--legal-url")):
        if name in urls:
            command += [flag, urls[name]]
    log_path = root / "logs" / "simulator.log"
    print(f"seeding the demo portfolio (the last 30 days; log: {log_path}) ...", flush=True)
    started = time.monotonic()
    with log_path.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} seeding the demo\n".encode())
        log.flush()
        env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET"}
        env["PYTHONUNBUFFERED"] = "1"
        process = spawn(command, log=log, env=env)
        try:
            status = process.wait(SEED_TIMEOUT)
        except subprocess.TimeoutExpired:
            _stop_process(process)
            status = None
        finally:
            _stop_process(process)  # Ctrl-C while seeding stops the simulator too
    release_file_clock(clock_file)  # real time from here on, whatever the simulator did
    if status == 0:
        print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
    else:
        print(f"warning: seeding did not finish (see {log_path}); running on", flush=True)


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


def audit(argv: Sequence[str]) -> int:
    """`make audit ARGS=...`: arrears-audit against the embedded default, with its secrets
    and database (variables already set in the environment win)."""
    path = data_dir() / "secrets.json"
    if path.exists():
        secrets = load_or_create_secrets(data_dir())
        os.environ.setdefault("CIPHER_KEY", secrets.cipher_key)
        os.environ.setdefault(
            "CHECKPOINT_PUBLIC_KEY", checkpoint_public_key(secrets.checkpoint_signing_key)
        )
    port = os.environ.get("ARREARS_PG_PORT", "5433")
    os.environ.setdefault("DATABASE_URL", f"postgresql://postgres@{LOOPBACK}:{port}/arrears_case")
    from case_service.audit_cli import main as audit_main

    return audit_main(list(argv))


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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["audit"]:  # everything after it is arrears-audit's
        return audit(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m arrears_dev.devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start PostgreSQL, the broker and every service")
    commands.add_parser("audit", help="arrears-audit against the embedded default")
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
