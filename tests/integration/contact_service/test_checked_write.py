"""An attempt decided on inputs read without the case's lock is written only if they did not
change meanwhile (`cs_check_inputs`, commands.CheckedCase); if they did, nothing of it is
written and it is decided again under the lock, on what the other writer wrote."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from case_service.application import CaseApplication
from contact_service.context import Context
from contact_service.readmodel.repository import commands
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from . import test_outcomes
from .conftest import START, token
from .test_outcomes import ATTEMPT, _events, _open

cases = test_outcomes.cases
outbox = test_outcomes.outbox


def _call(n: int) -> dict[str, Any]:
    return {
        **ATTEMPT,
        "outcome": "right_party_contact",
        "recording_ref": f"rec-{n}",
        "occurred_at": (START - timedelta(minutes=10 - n)).isoformat(),
    }


async def _until_backends_wait_for_a_lock(engine: AsyncEngine, count: int) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while True:
        async with engine.connect() as conn:
            if (await conn.scalar(waiting) or 0) >= count:
                return
        await asyncio.sleep(0.01)


async def _count(ctx: Context, table: str) -> int:
    async with ctx.engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_two_concurrent_attempts_on_one_case_count_each_other(
    client: Any, outbox: Context, cases: CaseApplication
) -> None:
    """Three connected calls a day: after two, of two attempts decided at once on the same
    inputs exactly one is allowed; the other, decided again, counts it and is refused."""
    case_id = await _open(outbox, cases)
    for n in range(2):
        response = await client.post(
            f"/v1/cases/{case_id}/contact-attempts",
            json=_call(n),
            headers={**token(), "Idempotency-Key": f"call-{n}"},
        )
        assert response.status_code == 201, response.text
    async with outbox.engine.connect() as holder:
        # Both read their inputs (no lock needed) and wait for the case's lock to write.
        await holder.execute(
            text("SELECT 1 FROM cs_cases WHERE case_id = :c FOR UPDATE"), {"c": case_id}
        )
        requests = [
            asyncio.create_task(
                client.post(
                    f"/v1/cases/{case_id}/contact-attempts",
                    json=_call(n),
                    headers={**token(), "Idempotency-Key": f"call-{n}"},
                )
            )
            for n in (2, 3)
        ]
        await _until_backends_wait_for_a_lock(outbox.engine, 2)
        await holder.commit()
    statuses = sorted(r.status_code for r in await asyncio.gather(*requests))

    assert statuses == [201, 409]
    assert _events(cases, case_id).count("ContactAttempted") == 3


# The parameters of `commands.COMMAND_INPUTS` by their names in `cs_check_inputs`.
_NAMED = {"1": "p_case", "2": "p_since", "3": "p_exclude", "4": "p_command", "5": "p_key"}


async def test_the_check_reads_the_inputs_with_the_services_query(outbox: Context) -> None:
    """`cs_check_inputs` (migration 0006) reads what `COMMAND_INPUTS` reads: a change to the
    query comes with a migration replacing the function (else every write would fall back)."""
    async with outbox.engine.connect() as conn:
        source = await conn.scalar(
            text("SELECT prosrc FROM pg_proc WHERE proname = 'cs_check_inputs'")
        )
    named = re.sub(r"\$(\d)", lambda m: _NAMED.get(m.group(1), "p_body"), commands.COMMAND_INPUTS)

    assert "".join(named.split()) in "".join(str(source).split())


async def test_a_write_on_changed_inputs_writes_nothing(
    outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    pool = await outbox.read_pool.get()
    body = {"channel": "call"}
    async with commands.checked_case(pool, case_id, START) as session:
        inputs, queued = await session.inputs(command="promises", key="k-1", body=body)
        assert inputs is not None
        assert queued is None
        async with outbox.engine.begin() as other:  # another writer: an opt-out of calls
            await other.execute(
                text("UPDATE cs_contact_points SET opted_out = ARRAY['call'] WHERE case_id = :c"),
                {"c": case_id},
            )
        decisions, commands_queued = (
            await _count(outbox, "cs_decisions"),
            await _count(outbox, "command_outbox"),
        )
        row = _decision(case_id)
        with pytest.raises(commands.InputsChanged):
            await session.queue_decided(
                row, command="promises", key="k-1", body=body, correlation_id=None
            )
        with pytest.raises(commands.InputsChanged):
            await session.store_decision(row)
    assert await _count(outbox, "cs_decisions") == decisions
    assert await _count(outbox, "command_outbox") == commands_queued


async def test_a_write_on_unchanged_inputs_is_written(
    outbox: Context, cases: CaseApplication
) -> None:
    case_id = await _open(outbox, cases)
    pool = await outbox.read_pool.get()
    body = {"channel": "call"}
    async with commands.checked_case(pool, case_id, START) as session:
        await session.inputs(command="promises", key="k-1", body=body)
        queueing = await session.queue_decided(
            _decision(case_id), command="promises", key="k-1", body=body, correlation_id=None
        )
    assert queueing.command_id is not None
    assert await _count(outbox, "cs_decisions") == 1


def _decision(case_id: str) -> tuple[Any, ...]:
    """A decision row as `repository.decision_row` makes it (what it says does not matter)."""
    return (
        case_id, START, START, "promise", "tester", "borrower", "call", "+86****0001", "collect",
        "outbound", True, "[]", None, "CN", "1", "[]",
    )  # fmt: skip


_REQUESTS = st.lists(
    st.one_of(
        st.tuples(
            st.just("contact-attempts"),
            st.fixed_dictionaries(
                {
                    "channel": st.sampled_from(["call", "call", "sms"]),
                    "party": st.just("borrower"),
                    "contact_point": st.sampled_from(["+8613800000001", "+8613900000009"]),
                    "outcome": st.sampled_from(["right_party_contact", "no_answer", "busy"]),
                    "recording_ref": st.just("rec"),
                    "direction": st.sampled_from(["outbound", "outbound", "inbound"]),
                    "occurred_at": st.integers(1, 600).map(
                        lambda m: (START - timedelta(minutes=m)).isoformat()
                    ),
                }
            ),
        ),
        st.tuples(
            st.just("promises"),
            st.fixed_dictionaries(
                {
                    "amount": st.sampled_from(["600.00", "10.50"]),
                    "promised_date": st.just((START + timedelta(days=5)).date().isoformat()),
                }
            ),
        ),
    ),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(requests=_REQUESTS, keys=st.lists(st.sampled_from([None, "k-1", "k-2"]), min_size=5))
async def test_generated_commands_are_decided_alike_checked_and_locked(
    client: Any,
    outbox: Context,
    cases: CaseApplication,
    requests: list[tuple[str, dict[str, Any]]],
    keys: list[str | None],
) -> None:
    """The same requests to two cases, one decided the checked way, the other under the lock
    (its checked write refused at once): the same answers, decisions and pending attempts."""
    checked, locked = await _open(outbox, cases), await _open(outbox, cases)
    fell_back: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(commands, "checked_case", _checked_unless(locked))
        patch.setattr(commands, "locked_case", _noting(fell_back))
        answers: dict[str, list[Any]] = {checked: [], locked: []}
        for (route, body), key in zip(requests, keys, strict=False):
            headers = {**token(), **({} if key is None else {"Idempotency-Key": key})}
            for case_id in (checked, locked):
                response = await client.post(
                    f"/v1/cases/{case_id}/{route}", json=body, headers=headers
                )
                answers[case_id].append(_answer(response, case_id))

    assert answers[checked] == answers[locked]
    assert await _written(outbox, checked) == await _written(outbox, locked)
    assert checked not in fell_back
    assert fell_back.count(locked) == len(requests)


def _checked_unless(locked: str) -> Any:
    """`commands.checked_case`, but for `locked` the write is refused before anything is read."""
    real = commands.checked_case

    @asynccontextmanager
    async def checked_case(pool: Any, case_id: str, now: Any) -> AsyncIterator[Any]:
        if case_id == locked:
            raise commands.InputsChanged("decided under the lock in this test")
        async with real(pool, case_id, now) as session:
            yield session

    return checked_case


def _noting(fell_back: list[str]) -> Any:
    real = commands.locked_case

    @asynccontextmanager
    async def locked_case(pool: Any, case_id: str, now: Any) -> AsyncIterator[Any]:
        fell_back.append(case_id)
        async with real(pool, case_id, now) as session:
            yield session

    return locked_case


def _answer(response: Any, case_id: str) -> tuple[Any, ...]:
    body = response.text.replace(case_id, "<case>")
    for varying in ("command_id", "version"):
        body = re.sub(rf'"{varying}":\s*\d+', f'"{varying}":0', body)
    return (
        response.status_code,
        body,
        response.headers.get("content-type"),
        response.headers.get("idempotent-replayed"),
    )


async def _written(ctx: Context, case_id: str) -> tuple[list[Any], list[Any], list[Any]]:
    """The case's decisions, pending attempts and queued commands, without ids (and keys
    derived from the case's id, and the case's strategy arm; the answers written on commands
    are the answers')."""
    async with ctx.engine.connect() as conn:
        decisions = await conn.execute(
            text(
                "SELECT decided_at, at, use, party, channel, point_masked, purpose, direction,"
                " allowed, reasons::text, next_allowed_at, profile, rules::text"
                " FROM cs_decisions WHERE case_id = :c ORDER BY id"
            ),
            {"c": case_id},
        )
        attempts = await conn.execute(
            text(
                "SELECT occurred_at, channel, party, point, outcome, inbound"
                " FROM cs_attempts WHERE case_id = :c"
            ),
            {"c": case_id},
        )
        queued = await conn.execute(
            text(
                "SELECT command, CASE WHEN idempotency_key LIKE 'derived-%' THEN 'derived'"
                " ELSE idempotency_key END, body::text"
                " FROM command_outbox WHERE case_id = :c ORDER BY id"
            ),
            {"c": case_id},
        )
        return (
            [tuple(r) for r in decisions],
            sorted(tuple(r) for r in attempts),  # (their fingerprints name the case)
            [tuple(r) for r in queued],
        )
