"""What the event store holds: encrypted personal data, snapshots, the auditor's CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
import pytest
from case_service import audit_cli
from case_service.application import CaseApplication, CaseNotFound
from case_service.audit.store import AuditStore
from case_service.persistence import check_connection
from case_service.relay import RelayStore
from case_service.settings import CaseServiceSettings
from eventsourcing.application import project_aggregate
from psycopg.sql import SQL


def _due(installment: int) -> str:
    """A distinct due date in 2026 for each installment number (up to 81)."""
    return f"2026-{(installment - 1) % 9 + 1:02d}-{(installment - 1) // 9 + 1:02d}"


def test_event_state_is_encrypted_at_rest(database_url: str, open_case: Callable[..., str]) -> None:
    case_id = open_case("L-SECRET")

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT state FROM cases_events WHERE originator_id = %s", (UUID(case_id),)
        ).fetchall()

    assert len(rows) == 1
    raw = bytes(rows[0][0])
    assert b"Li Wei" not in raw
    assert b"8613800000001" not in raw
    assert b"L-SECRET" not in raw


def test_snapshots_are_taken_at_the_interval_and_old_versions_still_replay(
    database_url: str,
    cases: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    case_id = open_case("L-SNAP")
    for n in range(1, 25):
        missed(case_id, n, _due(n), "100.00")

    with psycopg.connect(database_url) as conn:
        versions = [
            r[0]
            for r in conn.execute(
                "SELECT originator_version FROM cases_snapshots WHERE originator_id = %s ORDER BY 1",
                (UUID(case_id),),
            )
        ]
    at_15 = cases.case(UUID(case_id), version=15)

    assert versions == [10, 20]  # snapshot_interval=10 in these tests
    assert at_15.version == 15
    assert str(at_15.arrears) == "1400.00"


def test_a_case_is_read_at_every_version_as_the_library_s_own_projection_reads_it(
    cases: CaseApplication, open_case: Callable[..., str], missed: Callable[..., Any]
) -> None:
    # CaseApplication reads with `replayed`, the library's `project_aggregate` without its
    # per-event Protocol check: the same state at every version, snapshots or not.
    case_id = UUID(open_case("L-PROJ"))
    for n in range(1, 24):
        missed(str(case_id), n, _due(n), "100.00")

    for version in (*range(1, 25), None):
        ours = cases.case(case_id, version=version)
        theirs = cases.repository.get(
            case_id, version=version, projector_func=project_aggregate, deepcopy_from_cache=True
        )
        assert ours.version == theirs.version
        assert ours.__dict__ == theirs.__dict__
    with pytest.raises(CaseNotFound):
        cases.case(UUID(int=7))


def test_the_writer_s_read_brings_each_case_up_to_date_from_its_snapshot_or_known_version(
    database_url: str,
    cases: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    # What the command writer and the daily file read for the cases of a batch (one
    # statement, each case by its primary key): from a known version, the events after it;
    # from nothing, the latest snapshot and the events after that; a case never written,
    # nothing. Held to the stored rows, read one case at a time.
    counts = {"L-CUR-0": 0, "L-CUR-12": 12, "L-CUR-25": 25}
    ids = {}
    for loan, n in counts.items():
        ids[loan] = UUID(open_case(loan))
        for k in range(1, n + 1):
            missed(str(ids[loan]), k, _due(k), "10.00")

    def stored(table: str, case_id: UUID) -> list[tuple[int, str, bytes]]:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(
                f"SELECT originator_version, topic, state FROM {table} "
                "WHERE originator_id = %s ORDER BY originator_version",
                (case_id,),
            ).fetchall()
        return [(v, t, bytes(s)) for v, t, s in rows]

    def expected(case_id: UUID, known: int) -> list[tuple[int, str, bytes]]:
        snapshots = stored("cases_snapshots", case_id) if known == 0 else []
        start = snapshots[-1:] if snapshots else []
        after = max(known, start[0][0] if start else 0)
        return start + [row for row in stored("cases_events", case_id) if row[0] > after]

    stranger = UUID(int=99)
    for known in (
        {ids["L-CUR-0"]: 0, ids["L-CUR-12"]: 0, ids["L-CUR-25"]: 0, stranger: 0},
        {ids["L-CUR-0"]: 1, ids["L-CUR-12"]: 5, ids["L-CUR-25"]: 23},
        {ids["L-CUR-25"]: 26, ids["L-CUR-12"]: 0},
    ):
        got = cases.recorder.select_current(known, "cases_snapshots")
        _, piped = cases.recorder.read_batch([], known, "cases_snapshots")
        for case_id, version in known.items():
            want = expected(case_id, version)
            for found in (got, piped):
                rows = [(e.originator_version, e.topic, e.state) for e in found.get(case_id, [])]
                assert rows == want, (case_id, version)
    # The snapshots this relies on are there: at 10 and 20 (snapshot_interval=10).
    assert [v for v, _, _ in stored("cases_snapshots", ids["L-CUR-25"])] == [10, 20]


def test_the_tail_is_every_event_after_a_notification_id_unless_too_far_behind(
    database_url: str,
    cases: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    # What the daily file's warm cases follow (daily_file/warm.py): the events after a
    # notification id, with the highest id; none read when that is more than a limit past.
    first = UUID(open_case("L-TAIL-1"))
    rows, seen = cases.recorder.select_tail(-1, -1)
    assert rows is None  # a start: only where the store is
    assert seen > 0
    second = UUID(open_case("L-TAIL-2"))
    for k in (1, 2):
        missed(str(first), k, _due(k), "10.00")

    rows, last = cases.recorder.select_tail(seen, 100)

    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM cases_events "
            "WHERE notification_id > %s",
            (seen,),
        ).fetchall()
        highest = conn.execute("SELECT max(notification_id) FROM cases_events").fetchone()
    assert rows is not None
    assert highest is not None
    assert last == highest[0]
    got = sorted((UUID(bytes=r[1]), r[2], r[3], bytes(r[4])) for r in rows)
    assert got == sorted((i, v, t, bytes(s)) for i, v, t, s in stored)
    assert {(i, v) for i, v, _, _ in got} == {(second, 1), (first, 2), (first, 3)}
    # By the lowest bit of each case id's int (a worker's cases): each a part, together all.
    parts = []
    for parity in (0, 1):
        part, highest_too = cases.recorder.select_tail(seen, 100, parity)
        assert part is not None
        assert highest_too == last  # the whole store's highest id
        parts += [(UUID(bytes=r[1]), r[2], r[3], bytes(r[4])) for r in part]
        assert all(UUID(bytes=r[1]).int & 1 == parity for r in part)
    assert sorted(parts) == got
    assert cases.recorder.select_tail(last, 100) == ([], last)  # nothing new
    assert cases.recorder.select_tail(seen, last - seen - 1) == (None, last)  # too far behind
    # Small numbers whose sum is beyond a smallint (as psycopg sends each): no overflow.
    assert cases.recorder.select_tail(last, 32_767) == ([], last)


def test_the_tail_read_in_gaps_leaves_out_the_ranges_examined_and_counts_only_the_rest(
    database_url: str,
    cases: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    # A worker told which ids its committed parts took reads only the gaps between them
    # (daily_file/warm.py, `confirm`): every event outside the ranges, none inside.
    case = UUID(open_case("L-GAPS-1"))
    _, seen = cases.recorder.select_tail(-1, -1)
    for k in range(1, 7):
        missed(str(case), k, _due(k), "10.00")
    with psycopg.connect(database_url) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT notification_id FROM cases_events WHERE notification_id > %s "
                "ORDER BY notification_id",
                (seen,),
            )
        ]
    assert len(ids) == 6
    examined = [(ids[1], ids[2]), (ids[4], ids[4])]

    for parity in (None, case.int & 1):
        rows, last = cases.recorder.select_tail(seen, 3, parity, examined)  # 3 left to read

        assert last == ids[-1]
        assert rows is not None
        assert sorted(r[2] for r in rows) == [2, 5, 7]  # the versions at ids 0, 3 and 5
    other = cases.recorder.select_tail(seen, 3, 1 - (case.int & 1), examined)
    assert other == ([], ids[-1])  # the other parity: none of this case's
    assert cases.recorder.select_tail(seen, 2, None, examined) == (None, ids[-1])  # 3 past 2


def test_pages_of_the_log_are_read_in_index_order_however_stale_the_statistics(
    database_url: str, cases: CaseApplication
) -> None:
    # 30,000 events written at once and never analysed, as a backlog is when a relay or a
    # rebuild reads it: each page must be an index scan in notification order that stops
    # at its limit, not the whole rest of the log read and sorted (quadratic over a rebuild).
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO cases_events (originator_id, originator_version, topic, state, hash) "
            "SELECT gen_random_uuid(), 1, 'bench', '\\x00', '\\x00' "
            "FROM generate_series(1, 30000)"
        )
        conn.commit()
        statements = {
            "relay and feed": (RelayStore(cases.recorder_)._rows, (0, 30_000, 1000)),
            "audit leaves": (AuditStore(cases.recorder_)._leaves, (0, 1000)),
        }
        for name, (statement, params) in statements.items():
            plan = "\n".join(
                row[0] for row in conn.execute(SQL("EXPLAIN {}").format(statement), params)
            )
            assert "Sort" not in plan, (name, plan)
            assert "Index Scan using cases_events_notification_id" in plan, (name, plan)
    rows = RelayStore(cases.recorder_).rows_between(500, 30_000, 1000)
    assert [row[0] for row in rows] == list(range(501, 1501))
    leaves = AuditStore(cases.recorder_).leaves(29_000)
    assert [n for n, _ in leaves] == list(range(29_001, 30_001))


def test_idempotency_keys_and_correlations_are_read_by_primary_key_however_large_the_tables(
    database_url: str, cases: CaseApplication
) -> None:
    # 30,000 keys, events and correlation rows written at once and never analysed: a batch's
    # lookup must be an index scan per key asked, never a join over a scan of the whole
    # table (the writer prepares its statements, so a plan made on a small table stays).
    recorder = cases.recorder_
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, body) "
            "SELECT 'bench', 'k' || n, 'h', 201, '{}' FROM generate_series(1, 30000) n"
        )
        conn.execute(
            "WITH e AS (INSERT INTO cases_events (originator_id, originator_version, topic, "
            "state, hash) SELECT gen_random_uuid(), 1, 'bench', '\\x00', '\\x00' "
            "FROM generate_series(1, 30000) RETURNING originator_id) "
            "INSERT INTO event_correlations (originator_id, originator_version, correlation_id) "
            "SELECT originator_id, 1, 'c-' || originator_id FROM e"
        )
        conn.commit()
        wanted = [("bench", f"k{n}") for n in range(1, 30_001, 60)]  # 500 keys
        events = [
            (row[0], 1)
            for row in conn.execute("SELECT originator_id FROM cases_events LIMIT 500").fetchall()
        ]
        statements = {
            "idempotency": (
                recorder._select_idempotency,
                ([s for s, _ in wanted], [k for _, k in wanted]),
                "idempotency_keys",
            ),
            "correlations": (
                recorder._select_correlations,
                ([c for c, _ in events], [v for _, v in events]),
                "cases_events",
            ),
        }
        for name, (statement, params, table) in statements.items():
            text = statement if isinstance(statement, bytes) else statement.as_bytes(conn)
            for _ in range(7):  # past the executions after which a generic plan may stay
                conn.execute(text, params, prepare=True).fetchall()
            plan = "\n".join(
                str(row[0]) for row in conn.execute(b"EXPLAIN " + text, params, prepare=False)
            )
            assert "Seq Scan" not in plan, (name, plan)
            assert "Hash" not in plan, (name, plan)
            assert f"Index Scan using {table}_pkey" in plan, (name, plan)
    found = recorder.find_idempotency_many([*wanted[:3], ("bench", "absent")])
    assert sorted(found) == sorted(wanted[:3])
    assert recorder.correlations(events[:3]) == {
        (case_id, 1): f"c-{case_id}" for case_id, _ in events[:3]
    }


def test_the_audit_cli_prints_history_and_state_at_a_version(
    case_settings: CaseServiceSettings,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = open_case("L-AUDIT")
    missed(case_id, 1, "2026-10-01", "1200.00")
    missed(case_id, 2, "2026-11-01", "1200.00")
    monkeypatch.setenv("DATABASE_URL", case_settings.database_url)
    monkeypatch.setenv("CIPHER_KEY", case_settings.cipher_key or "")

    assert audit_cli.main(["history", "--loan-id", "L-AUDIT"]) == 0
    history = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert audit_cli.main(["state", case_id, "--version", "2"]) == 0
    state = json.loads(capsys.readouterr().out)

    assert [e["type"] for e in history] == ["CaseOpened", "PaymentMissed", "PaymentMissed"]
    assert state["version"] == 2
    assert state["arrears"] == "1200.00"
    assert audit_cli.main(["history", "--loan-id", "L-NOBODY"]) == 1


def test_connections_the_server_ended_are_replaced_not_failed(
    database_url: str,
    cases: CaseApplication,
    open_case: Callable[..., str],
    missed: Callable[..., Any],
) -> None:
    """After the server ended every connection of the pool (as a restart does), commands
    still succeed: the pool's check (persistence.check_connection, no round trip) drops
    dead connections before lending them, and the library retries a failed commit."""
    case_id = open_case("L-RESTART")
    missed(case_id, 1, "2026-10-01", "100.00")
    with psycopg.connect(database_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    assert ended is not None
    assert ended[0] >= 1

    for n in range(2, 6):  # more than one pooled connection is dead
        missed(case_id, n, f"2026-10-0{n}", "100.00")

    assert cases.case(UUID(case_id)).version == 6
    assert len(cases.recorder_.recorded_times(UUID(case_id))) == 6


def test_the_pool_check_finds_a_connection_the_server_ended(database_url: str) -> None:
    """Without a round trip: what the server sent on the socket (its FATAL message, then
    the end of file) is enough."""
    with (
        psycopg.connect(database_url, autocommit=True) as conn,
        psycopg.connect(database_url, autocommit=True) as admin,
    ):
        check_connection(conn)  # alive: passes
        admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                check_connection(conn)
            except psycopg.OperationalError:
                break
            time.sleep(0.02)
        else:
            pytest.fail("a connection the server ended passed the check")


def test_the_store_pool_uses_the_check(cases: CaseApplication) -> None:
    assert cases.recorder_.datastore.pool._check is check_connection
