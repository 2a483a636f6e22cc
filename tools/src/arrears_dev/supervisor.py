"""Keeping `make run`'s children alive, as a process manager would.

A child that dies is started again after a delay that doubles with each death in the
window (1 s, 2 s, 4 s, ... up to a cap), and the supervisor says so in one line. A child that
dies more than `max_restarts` times within `window` seconds is broken, not unlucky: the
supervisor gives up loudly (`GaveUp`), and its caller stops everything.

Restarting is safe for every child of the embedded system: the relay re-publishes from its
saved position, consumers fill holes from case-service's feed, PostgreSQL recovers its log.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from arrears_dev.embedded._process import spawn, tail


class Child(Protocol):
    """Something the supervisor can start, watch and stop."""

    name: str
    log_path: Path | None

    def start(self) -> None: ...

    def alive(self) -> bool: ...

    def exit_text(self) -> str:
        """How it ended, e.g. "was killed by SIGKILL"."""
        ...

    def stop(self) -> None: ...


class ProcessChild:
    """A command run as a child process, its output appended to `log_path`."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        grace: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.log_path: Path | None = log_path
        self.grace = grace
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.log_path is not None
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            _stamp(log, f"starting {self.name}")
            self.process = spawn(self.argv, log=log, env=self.env)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_text(self) -> str:
        code = None if self.process is None else self.process.poll()
        if code is None:
            return "is running"
        if code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with {code}"

    def terminate(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()

    def wait(self, deadline: float) -> None:
        """Wait until `deadline` (monotonic) for it to end; then kill it."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{self.name} ignored SIGTERM; killing it", file=sys.stderr)
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        self.terminate()
        self.wait(time.monotonic() + self.grace)


def stop_processes(children: Sequence[ProcessChild], grace: float = 10.0) -> None:
    """SIGTERM to all at once, then SIGKILL whatever still runs after the grace."""
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace
    for child in children:
        child.wait(deadline)


class Server(Protocol):
    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class ServerChild:
    """An embedded server (PostgreSQL, the broker) that starts and stops itself."""

    def __init__(self, name: str, server: Server, log_path: Path | None = None) -> None:
        self.name = name
        self.server = server
        self.log_path = log_path

    def start(self) -> None:
        self.server.stop()  # after a death: release its port, pid file and log first
        self.server.start()

    def alive(self) -> bool:
        return self.server.running

    def exit_text(self) -> str:
        return "is running" if self.server.running else "died"

    def stop(self) -> None:
        self.server.stop()


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    max_delay: float = 30.0
    max_restarts: int = 5  # deaths tolerated within `window`; one more and we give up
    window: float = 60.0

    def delay(self, deaths: int) -> float:
        return float(min(self.max_delay, self.first_delay * 2 ** max(0, deaths - 1)))


class GaveUp(RuntimeError):
    """A child kept dying: the system cannot run as configured."""


@dataclass
class _Watched:
    child: Child
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None


class Supervisor:
    def __init__(
        self,
        policy: RestartPolicy | None = None,
        *,
        say: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self._say = say or _to_stderr
        self._clock = clock
        self._watched: list[_Watched] = []

    def adopt(self, child: Child) -> None:
        """Watch a child that is already running."""
        self._watched.append(_Watched(child))

    def check(self) -> None:
        """One round: note the children that died, restart those whose delay is over."""
        now = self._clock()
        for watched in self._watched:
            if watched.restart_at is None:
                if not watched.child.alive():
                    self._died(watched, watched.child.exit_text(), now)
            elif now >= watched.restart_at:
                self._restart(watched, now)

    def watch(self, until: Callable[[], bool] = lambda: False, interval: float = 0.2) -> None:
        """Check every `interval` seconds until `until()` (forever by default) or `GaveUp`."""
        while not until():
            self.check()
            time.sleep(interval)

    def _died(self, watched: _Watched, how: str, now: float) -> None:
        policy, child = self.policy, watched.child
        watched.deaths = [t for t in watched.deaths if now - t < policy.window] + [now]
        deaths = len(watched.deaths)
        if deaths > policy.max_restarts:
            log = child.log_path
            last = f"; the end of {log}:\n{tail(log, 20)}" if log is not None else ""
            raise GaveUp(
                f"{child.name} {how}, its {deaths}th death within {policy.window:.0f} s: "
                f"giving up and stopping everything{last}"
            )
        delay = policy.delay(deaths)
        watched.restart_at = now + delay
        self._say(
            f"supervisor: {child.name} {how}; restarting in {delay:.1f} s "
            f"(death {deaths} of {policy.max_restarts} allowed in {policy.window:.0f} s)"
        )

    def _restart(self, watched: _Watched, now: float) -> None:
        watched.restart_at = None
        try:
            watched.child.start()
        except Exception as exc:  # a start that fails is one more death (said in one line)
            first_line = next(iter(str(exc).splitlines()), "") or type(exc).__name__
            self._died(watched, f"did not start ({first_line})", now)


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _stamp(log: IO[bytes], what: str) -> None:
    log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n".encode())
    log.flush()
