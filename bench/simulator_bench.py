"""The simulator as a load generator: N loans through D simulated days, end to end.

    uv run python bench/simulator_bench.py                       (issue 6: 10,000 x 120)
    uv run python bench/simulator_bench.py --loans 1000 --days 30 (a quick look)

Starts its own embedded PostgreSQL (durable, as `make run`) and broker, then case-service,
its relay, and contact-service / legal-service where they are runnable, each as its own
process; runs `python -m arrears_dev.simulator` as one more process; and waits until the relay
has published every recorded event. Reports wall time, events recorded per second (as the
simulator counted them from the services' replies), the time until the relay caught up,
requests per second, and the peak memory (proportional set size, so PostgreSQL's shared
buffers count once) and CPU seconds of each process with its children (e.g. uvicorn
workers). The services run on a file clock (CLOCK_FILE) that the simulator moves day by
day, so promises fall due and break as in a bank; `--system-clock` runs them on the real
clock (promises then never break). Results go to bench/results/simulator-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg
from arrears_dev.embedded._process import spawn, tail
from arrears_dev.embedded.broker import EmbeddedBroker
from arrears_dev.embedded.ports import LOOPBACK, free_port
from arrears_dev.embedded.postgres import EmbeddedPostgres
from eventsourcing.cipher import AESCipher

# Benchmarks build their own databases: each service migrates its schema as it starts.
os.environ.setdefault("MIGRATE_ON_START", "true")

SECRET = "bench-secret-bench-secret-bench-secret"
REPO = Path(__file__).resolve().parent.parent


class PeakMemory(threading.Thread):
    """Samples each watched process tree's memory (keeping the peak) and CPU time used."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.watched: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.cpu: dict[str, float] = {}  # seconds, user + system, as last seen
        self.done = threading.Event()

    def watch(self, name: str, pid: int) -> None:
        self.watched[name] = pid

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()

    def sample(self) -> dict[str, float]:
        """Each watched tree's CPU seconds now (also kept as the last seen, with the peak PSS).

        A tree's children are summed while alive; a child that has exited (a worker that ended)
        keeps its last reading through the max below."""
        for name, pid in list(self.watched.items()):
            try:
                root = psutil.Process(pid)
                tree = (root, *root.children(recursive=True))
                rss = sum(_pss(p) for p in tree)
                cpu = sum(_cpu(p) for p in tree)
            except psutil.Error:
                continue
            self.peak[name] = max(self.peak.get(name, 0), rss)
            self.cpu[name] = max(self.cpu.get(name, 0.0), cpu)
        return dict(self.cpu)


def _cpu(process: psutil.Process) -> float:
    """User + system seconds, with those of children that ended and were waited for (a
    PostgreSQL backend's CPU stays counted after its connection closes)."""
    times = process.cpu_times()
    return float(times.user + times.system + times.children_user + times.children_system)


def _pss(process: psutil.Process) -> int:
    """Proportional set size: shared pages (PostgreSQL's shared buffers) counted once."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(process.memory_info().rss)


def runnable(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    except ModuleNotFoundError:
        return False


def wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy:\n{tail(log)}")


def relay_position(metrics_port: int) -> int:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{metrics_port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("arrears_relay_position "):
                return int(float(line.split()[1]))
    return 0


def database_transactions(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT datname, xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname LIKE 'arrears_%' ORDER BY datname"
        ).fetchall()
    return {str(name): int(n) for name, n in rows}


def head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT coalesce(max(notification_id), 0) FROM cases_events").fetchone()
        return int(row[0]) if row else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=1)
    # Server processes per service, sized to the load the simulator puts on each: most
    # requests pass contact-service's guard; legal-service mostly consumes events.
    parser.add_argument("--workers", type=int, default=1, help="case-service HTTP workers")
    # One contact-service process (its own default, HTTP_WORKERS=1) carries the simulator's
    # ~30 requests/s; a second one doubled its idle work, its consumer's per-batch work (each
    # got half the events) and its memory (A/B in docs/benchmarks.md, 2026-12-05).
    parser.add_argument("--contact-workers", type=int, default=1)
    parser.add_argument("--legal-workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-relay", action="store_true", help="case-service alone")
    parser.add_argument(
        "--system-clock", action="store_true", help="the services on the real clock"
    )
    parser.add_argument(
        "--idle-seconds", type=float, default=5.0, help="idle window measured before the run"
    )
    parser.add_argument(
        "--settle-seconds", type=float, default=1.0, help="wait after the relay caught up"
    )
    args = parser.parse_args()

    memory = PeakMemory()
    memory.start()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="simbench-") as tmp:
        root = Path(tmp)
        postgres = EmbeddedPostgres(root / "pg", free_port(), durable=True)
        stack.callback(postgres.stop)
        postgres.start()
        for name in ("arrears_case", "arrears_contact", "arrears_legal"):
            postgres.create_database(name)
        broker = EmbeddedBroker(free_port(), log_path=root / "broker.log")
        stack.callback(broker.stop)
        broker.start()
        if broker.pid:
            memory.watch("broker", broker.pid)
        memory.watch("postgres", _postmaster_pid(root / "pg"))
        ports = {"case": free_port(), "contact": free_port(), "legal": free_port()}
        workers = {
            "case": args.workers,
            "contact": args.contact_workers,
            "legal": args.legal_workers,
        }
        metrics_port = free_port()
        clock_file = None if args.system_clock else str(root / "clock")
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "JWT_SECRET": SECRET,
            "CIPHER_KEY": AESCipher.create_key(num_bytes=32),
            "HTTP_HOST": LOOPBACK,
            "CASE_SERVICE_URL": f"http://{LOOPBACK}:{ports['case']}",
            "RELAY_METRICS_PORT": str(metrics_port),
            "LOG_LEVEL": "WARNING",
            **({"CLOCK_FILE": clock_file} if clock_file else {}),
        }
        specs = [("case-service", "case_service", "case", "arrears_case")]
        if not args.no_relay:
            specs.append(("case-relay", "case_service.relay", None, "arrears_case"))
            specs += [
                (name, module, key, db)
                for name, module, key, db in (
                    ("contact-service", "contact_service", "contact", "arrears_contact"),
                    ("legal-service", "legal_service", "legal", "arrears_legal"),
                )
                if runnable(module)
            ]
        urls: dict[str, str] = {}
        for name, module, key, db in specs:
            service_env = {**env, "SERVICE_NAME": name, "DATABASE_URL": postgres.url(db)}
            if key is not None:
                service_env["HTTP_PORT"] = str(ports[key])
                service_env["HTTP_WORKERS"] = str(workers[key])
            log_path = root / f"{name}.log"
            with log_path.open("ab") as log:
                process = spawn([sys.executable, "-m", module], log=log, env=service_env)
            stack.callback(_stop, process)
            memory.watch(name, process.pid)
            if key is not None:
                urls[key] = f"http://{LOOPBACK}:{ports[key]}"
                wait_healthy(urls[key], process, log_path)

        command = [
            # Progress lines go to this process's stderr (a long run can be watched).
            sys.executable, "-m", "arrears_dev.simulator", "--json",
            "--loans", str(args.loans), "--days", str(args.days), "--seed", str(args.seed),
            "--case-url", urls["case"], "--jwt-secret", SECRET,
            "--concurrency", str(args.concurrency),
            *(("--clock-file", clock_file) if clock_file else ()),
        ]  # fmt: skip
        for key in ("contact", "legal"):
            if key in urls:
                command += [f"--{key}-url", urls[key]]
        # The services' CPU is read at three moments: once all are up (their start-up), after
        # an idle window (what they burn doing nothing: polling, heartbeats), and at the end.
        # The run's figure is end minus the start of the simulator, so start-up is shown
        # apart; the whole-life figure (start-up included) is reported beside it.
        time.sleep(2)  # consumers join their groups, the relay finds its position
        up = memory.sample()
        time.sleep(args.idle_seconds)
        idle = memory.sample()
        started = time.perf_counter()
        at_start = memory.sample()
        simulator = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
        memory.watch("simulator", simulator.pid)
        out, _ = simulator.communicate()
        simulated = time.perf_counter() - started
        if simulator.returncode != 0:
            print(out.decode(), file=sys.stderr)
            return 1
        summary = json.loads(out)
        caught_up = None
        stored = head(postgres.url("arrears_case"))
        if not args.no_relay:
            while relay_position(metrics_port) < stored:
                time.sleep(0.2)
            caught_up = time.perf_counter() - started
            # The consumers apply the relay's last records a moment later: their CPU counts.
            time.sleep(args.settle_seconds)
        at_end = memory.sample()
        memory.done.set()
        transactions = database_transactions(postgres.url("postgres"))
        result: dict[str, Any] = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "loans": args.loans,
            "days": args.days,
            "seed": args.seed,
            "http_workers": {f"{key}-service": n for key, n in workers.items()},
            "clock": "system" if args.system_clock else "file",
            "cores": os.cpu_count(),
            "processes": sorted(memory.watched),
            "cases": summary["cases"],
            "events": summary["events"],
            "requests": summary["requests"],
            "simulator_wall_seconds": round(simulated, 1),
            "events_per_second": round(summary["events"] / simulated, 1),
            "requests_per_second": round(summary["requests"] / simulated, 1),
            "relay_caught_up_seconds": round(caught_up, 1) if caught_up else None,
            "events_per_second_end_to_end": (
                round(summary["events"] / caught_up, 1) if caught_up else None
            ),
            "events_stored": stored,
            # Each database's committed transactions over the services' lives (start-up
            # included): where PostgreSQL's CPU comes from, per recorded event.
            "transactions_per_event": {
                name: round(n / max(summary["events"], 1), 2) for name, n in transactions.items()
            },
            "peak_pss_mib": {k: round(v / 2**20) for k, v in sorted(memory.peak.items())},
            "cpu_seconds": {k: round(v, 1) for k, v in sorted(at_end.items())},
            **cpu_figures(up, idle, at_start, at_end, args.idle_seconds, summary, stored),
            "events_by_type": summary["events_by_type"],
            "behaviour": summary["behaviour"],
            "rejected": summary["rejected"],
            "rejection_samples": summary["rejection_samples"],
            "forwarded": summary["forwarded"],
            "phase_seconds": summary["phase_seconds"],
            "buckets_today": summary["buckets_today"],
        }
    print(json.dumps(result, indent=2))
    print(report(result), file=sys.stderr)
    results = REPO / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (results / f"simulator-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


# Issue 14 target 7: CPU summed over every process of the system per recorded event, and
# contact-service's CPU per contact attempt it was asked to record.
TARGET_MS_PER_EVENT = 5.0
TARGET_CONTACT_MS_PER_ATTEMPT = 2.0
LOAD_GENERATOR = "simulator"


def cpu_figures(
    up: dict[str, float],
    idle: dict[str, float],
    at_start: dict[str, float],
    at_end: dict[str, float],
    idle_seconds: float,
    summary: dict[str, Any],
    stored: int,
) -> dict[str, Any]:
    """CPU per recorded event per process: over the run (simulator start to end) and over the
    processes' whole lives (start-up included), and the idle burn per second.

    "Recorded events" is what the simulator counted from case-service's 201 answers (events
    recorded through a 202 and delivered later are not in it, so the per-event figures are if
    anything high); the store's count is shown beside it. The simulator is the load
    generator, not the system: the system's sum leaves it out, and it is shown apart."""
    events = summary["events"]
    run = {k: at_end[k] - at_start.get(k, 0.0) for k in at_end}
    system = [k for k in at_end if k != LOAD_GENERATOR]
    attempts = sum(
        n
        for kind, n in summary["forwarded"].items()
        if kind.startswith("contact:contact") and not kind.endswith(":queued")
    )
    contact = "contact-service"

    def per_event(seconds: dict[str, float]) -> dict[str, float]:
        return {k: round(1000 * v / events, 2) for k, v in sorted(seconds.items())}

    run_system = sum(run[k] for k in system)
    whole_system = sum(at_end[k] for k in system)
    return {
        "attempts_asked": attempts,
        "cpu_seconds_startup": {k: round(v, 1) for k, v in sorted(up.items())},
        "cpu_idle_ms_per_second": {
            k: round(1000 * (idle[k] - up.get(k, 0.0)) / idle_seconds, 1) for k in sorted(idle)
        },
        "cpu_seconds_run": {k: round(v, 1) for k, v in sorted(run.items())},
        "cpu_ms_per_event_run": per_event(run),
        "cpu_ms_per_event_whole": per_event(at_end),
        "system_cpu_ms_per_event_run": round(1000 * run_system / events, 2),
        "system_cpu_ms_per_event_whole": round(1000 * whole_system / events, 2),
        "system_cpu_ms_per_stored_event_run": round(1000 * run_system / max(stored, 1), 2),
        "contact_cpu_ms_per_attempt_run": (
            round(1000 * run[contact] / attempts, 2) if attempts and contact in run else None
        ),
        "contact_cpu_ms_per_attempt_whole": (
            round(1000 * at_end[contact] / attempts, 2) if attempts and contact in at_end else None
        ),
    }


def report(result: dict[str, Any]) -> str:
    """The figures beside their targets, for a reader (the JSON has everything)."""
    lines = [
        f"{result['events']:,} events recorded (simulator's count; {result['events_stored']:,}"
        f" in the store) in {result['simulator_wall_seconds']} s:"
        f" {result['events_per_second']} events/s wall",
        f"{'process':<16}{'start-up s':>11}{'idle ms/s':>10}{'run s':>8}"
        f"{'ms/event run':>14}{'ms/event whole':>16}{'peak MiB':>10}",
    ]
    for name in sorted(result["cpu_seconds"]):
        lines.append(
            f"{name:<16}{result['cpu_seconds_startup'].get(name, 0.0):>11}"
            f"{result['cpu_idle_ms_per_second'].get(name, 0.0):>10}"
            f"{result['cpu_seconds_run'][name]:>8}"
            f"{result['cpu_ms_per_event_run'][name]:>14}"
            f"{result['cpu_ms_per_event_whole'][name]:>16}"
            f"{result['peak_pss_mib'].get(name, 0):>10}"
        )
    lines += [
        f"system (all but the simulator), CPU per event: run"
        f" {result['system_cpu_ms_per_event_run']} ms, whole lives"
        f" {result['system_cpu_ms_per_event_whole']} ms (target <= {TARGET_MS_PER_EVENT} ms)",
        "PostgreSQL transactions per event, by database: "
        + ", ".join(f"{k} {v}" for k, v in result["transactions_per_event"].items()),
        f"contact-service CPU per attempt ({result['attempts_asked']:,} asked): run"
        f" {result['contact_cpu_ms_per_attempt_run']} ms, whole life"
        f" {result['contact_cpu_ms_per_attempt_whole']} ms"
        f" (target <= {TARGET_CONTACT_MS_PER_ATTEMPT} ms)",
    ]
    return "\n".join(lines)


def _postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    sys.exit(main())
