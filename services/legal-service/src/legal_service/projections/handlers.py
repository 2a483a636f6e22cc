"""Case events -> lg_cases. Runs inside the idempotent consumer's transaction (its tracking
row is written with ours), so each event changes the read model once.

Each event: the case's folded state (read once per transaction, kept for the batch), one
pure fold step (fold.py), one write of the state and its indexed columns. Events that mean
nothing to the legal view write nothing. `handle_batch` (the consumer's and the rebuild's
fast path) reads every case of the batch in one statement, folds all their events (checking
only each case's last one for a change, see `_Case`), and writes each changed case once: the
cases opened in the batch by one copy into a staging table and one upsert from it (by
executemany when few), the rest by executemany. When the file shows the borrower vanished,
died, or other creditors closing in, ApplyForAssetPreservation is emitted at once (stable
id: once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from arrears.db import driver
from arrears.messaging import Envelope, PoisonError, event_time
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from legal_service.policy.recommend import asset_preservation
from legal_service.policy.thresholds import DEFAULT_POLICY, LegalPolicy
from legal_service.projections import fold
from legal_service.readmodel.tables import CASES
from legal_service.readmodel.view import columns, to_view
from legal_service.tasks import Emitter, emit_once, task_for

SIGNAL_EVENTS = frozenset({"ContactLost", "FieldVisitMade", "ComplaintReceived"})

# Hot statements go straight to the asyncpg connection under the consumer's transaction
# (prepared once per connection; no expression building or result wrapping).
_SELECT = "SELECT state::text FROM lg_cases WHERE case_id = $1 FOR UPDATE"
_SELECT_MANY = (
    "SELECT case_id, state::text FROM lg_cases WHERE case_id = ANY($1::text[]) "
    "ORDER BY case_id FOR UPDATE"
)
_COLUMNS = (
    "loan_id", "currency", "principal", "outstanding", "status", "stage", "court",
    "docket_number", "claim_amount", "oldest_due_on", "limitation_runs_from",
    "limitation_expires_on", "has_guarantors", "has_collateral",
)  # fmt: skip
_UPDATE = (
    "UPDATE lg_cases SET "  # noqa: S608 (fixed column names)
    + ", ".join(f"{c} = ${i}" for i, c in enumerate(_COLUMNS, start=1))
    + f", version = ${len(_COLUMNS) + 1}, updated_at = ${len(_COLUMNS) + 2}"
    + f", state = CAST(${len(_COLUMNS) + 3} AS jsonb) WHERE case_id = ${len(_COLUMNS) + 4}"
)
_UPSERT = (
    "INSERT INTO lg_cases ("  # noqa: S608 (fixed column names)
    + ", ".join(_COLUMNS)
    + ", version, updated_at, state, case_id) VALUES ("
    + ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 3))
    + f", CAST(${len(_COLUMNS) + 3} AS jsonb), ${len(_COLUMNS) + 4})"
    + " ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_COLUMNS, "version", "updated_at", "state"))
)
# Many opened cases (a rebuild's page opens ~1,000) are copied into a staging table and
# upserted from it by one statement: ~20% less PostgreSQL CPU per row than a Bind/Execute
# per row, and less here too. The table is this session's, emptied at every commit (and
# gone with a rolled-back transaction that created it: IF NOT EXISTS makes it again).
_COPY_FROM = 50  # rows; fewer go by executemany, cheaper than the two extra round trips
_STAGED = "lg_cases_staged"
_STAGE = f"CREATE TEMP TABLE IF NOT EXISTS {_STAGED} (LIKE lg_cases) ON COMMIT DELETE ROWS"
_ROW = (*_COLUMNS, "version", "updated_at", "state", "case_id")  # a row's values, in order
_UPSERT_STAGED = (
    f"INSERT INTO lg_cases ({', '.join(_ROW)}) SELECT {', '.join(_ROW)} FROM {_STAGED}"  # noqa: S608 (fixed names)
    + " ON CONFLICT (case_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in (*_COLUMNS, "version", "updated_at", "state"))
)


def _held(conn: AsyncConnection) -> dict[str, bytes]:
    """States (JSON) this transaction has read or written (cleared by a new transaction)."""
    sync = conn.sync_connection
    assert sync is not None
    transaction = sync.get_transaction()
    held = sync.info.get("legal_service.states")
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        sync.info["legal_service.states"] = held
    states: dict[str, bytes] = held[1]
    return states


@dataclass
class _Case:
    """A case being folded within one batch.

    Which event last changed the state (its version and time are the row's) is known by
    comparing the state's JSON before and after each event; serialising the whole state
    after every event was a tenth of a rebuild's CPU. So only a case's last event in the
    batch (and, when tasks are emitted, each signal event) is checked; the events folded
    since the previous check wait in `unchecked`, and are replayed with a check each only
    when the checked event changed nothing (then one of them may have been the last change).
    """

    state: dict[str, Any]
    last: bytes  # the state as last written (or read)
    version: int  # the version of the last event that changed it (0: none yet)
    moment: datetime
    opened: bool = False
    mark: bytes = b""  # the state's JSON at the last check, where a replay starts
    unchecked: list[Envelope] = field(default_factory=list)

    def check(self, before: bytes, envelope: Envelope, moment: datetime) -> bool:
        """After `envelope` was folded: did it change the state? (`before`: the state's JSON
        before it.) Brings `last`, `version` and `moment` up to date either way."""
        after = orjson.dumps(self.state)
        if after != before:
            self.last, self.version, self.moment = after, envelope.caseversion or 0, moment
        elif self.unchecked:
            self._replay()
        self.mark, self.unchecked = after, []
        return after != before

    def _replay(self) -> None:
        """The unchecked events again from the mark, each checked as `handle` does."""
        state = orjson.loads(self.mark)
        for envelope in self.unchecked:
            fold.apply(state, envelope.event_name, envelope.data)
            after = orjson.dumps(state)
            if after != self.last:
                self.last, self.version = after, envelope.caseversion or 0
                self.moment = event_time(envelope)


def _names(envelopes: Sequence[Envelope]) -> list[str]:
    """Each envelope's event name, worked out once per type in the batch (the property
    splits the type's text at every call, twice per event in a batch before)."""
    known: dict[str, str] = {}
    names = []
    for envelope in envelopes:
        name = known.get(envelope.type)
        if name is None:
            name = known[envelope.type] = envelope.event_name
        names.append(name)
    return names


def _survey(
    envelopes: Sequence[Envelope], names: list[str], held: dict[str, bytes]
) -> tuple[set[str], set[int]]:
    """One pass over a batch: the cases to read, those it folds that are neither held by
    this transaction nor opened in the batch before their first fold (a rebuild's pages open
    most of their cases, and reading those, locking rows that are not there, was a statement
    with every case of the page); and the position of each case's last folded event, the
    ones `_Case` checks."""
    seen: set[str] = set()  # opened or wanted
    wanted: set[str] = set()
    last: dict[str | None, int] = {}
    folds = fold.FOLDS
    for index, (envelope, name) in enumerate(zip(envelopes, names, strict=True)):
        if name not in folds:
            continue
        case_id = envelope.subject
        last[case_id] = index
        if case_id is None or case_id in seen or case_id in held:
            continue
        seen.add(case_id)
        if name != "CaseOpened":
            wanted.add(case_id)
    return wanted, set(last.values())


class Projection:
    def __init__(self, policy: LegalPolicy = DEFAULT_POLICY, emit: Emitter | None = None):
        self.policy = policy
        self.emit = emit

    async def handle(self, conn: AsyncConnection, envelope: Envelope) -> None:
        case_id = envelope.subject
        if case_id is None:
            raise PoisonError("a case event without a subject")
        name = envelope.event_name
        version = envelope.caseversion or 0
        moment = event_time(envelope)
        states = _held(conn)
        if name == "CaseOpened":
            state = fold.new_state(case_id)
            fold.apply(state, name, envelope.data)
            await self._insert(conn, case_id, state, version, moment)
            states[case_id] = orjson.dumps(state)
            return
        if name not in fold.FOLDS:
            return  # nothing for the legal view; the consumer records the version
        raw = await driver(conn)
        before = states.get(case_id)
        if before is None:
            found = await raw.fetchval(_SELECT, case_id)
            if found is None:
                raise PoisonError(f"{name} for case {case_id}, which was never opened here")
            before = found.encode()
        state = orjson.loads(before)  # a fresh copy: the cache changes only on success
        try:
            fold.apply(state, name, envelope.data)
        except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
            raise PoisonError(f"{name} v{version}: unreadable data: {exc!r}") from exc
        after = orjson.dumps(state)
        if after == before:
            return  # nothing the legal view shows changed (the version stays the last change's)
        derived = columns(state, self.policy)
        await raw.execute(
            _UPDATE,
            *(derived[c] for c in _COLUMNS),
            version,
            moment,
            after.decode(),
            case_id,
        )
        if name in SIGNAL_EVENTS and self.emit is not None:
            for rec in asset_preservation(to_view(state), self.policy):
                await emit_once(conn, task_for(case_id, rec, moment), self.emit)
        states[case_id] = after  # only once every statement of the event succeeded

    async def handle_batch(self, conn: AsyncConnection, envelopes: Sequence[Envelope]) -> None:
        """The same changes as `handle` for each envelope in order, each case written once."""
        states = _held(conn)
        work: dict[str, _Case] = {}
        names = _names(envelopes)
        to_read, checked = _survey(envelopes, names, states)
        wanted = sorted(to_read)
        raw = await driver(conn)
        found: dict[str, bytes] = {}
        if wanted:
            for row in await raw.fetch(_SELECT_MANY, wanted):
                found[row[0]] = row[1].encode()
        signals = SIGNAL_EVENTS if self.emit is not None else frozenset()
        folds = fold.FOLDS
        for index, (envelope, name) in enumerate(zip(envelopes, names, strict=True)):
            case_id = envelope.subject
            if case_id is None:
                raise PoisonError("a case event without a subject")
            moment = envelope.time
            if moment is None:  # refused (PoisonError) for any event, as `handle` does
                moment = event_time(envelope)
            if name == "CaseOpened":
                state = fold.new_state(case_id)
                fold.apply(state, name, envelope.data)
                last = orjson.dumps(state)
                version = envelope.caseversion or 0
                work[case_id] = _Case(state, last, version, moment, opened=True, mark=last)
                continue
            run = folds.get(name)
            if run is None:
                continue
            case = work.get(case_id)
            if case is None:
                before = states.get(case_id) or found.get(case_id)
                if before is None:
                    raise PoisonError(f"{name} for case {case_id}, which was never opened here")
                case = work[case_id] = _Case(orjson.loads(before), before, 0, moment, mark=before)
            check = index in checked or name in signals
            unfolded = orjson.dumps(case.state) if check and case.unchecked else case.last
            try:
                run(case.state, envelope.data)
            except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
                version = envelope.caseversion or 0
                raise PoisonError(f"{name} v{version}: unreadable data: {exc!r}") from exc
            if not check:
                case.unchecked.append(envelope)
                continue
            if not case.check(unfolded, envelope, moment):
                continue  # nothing the legal view shows changed
            if name in signals and self.emit is not None:
                for rec in asset_preservation(to_view(case.state), self.policy):
                    await emit_once(conn, task_for(case_id, rec, moment), self.emit)
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for case_id, case in work.items():
            if not case.opened and case.version == 0:
                continue  # read, folded, unchanged
            derived = columns(case.state, self.policy)
            row = (
                *(derived[c] for c in _COLUMNS),
                case.version,
                case.moment,
                case.last.decode(),
                case_id,
            )
            (inserts if case.opened else updates).append(row)
        if len(inserts) >= _COPY_FROM:
            await raw.execute(_STAGE)
            await raw.copy_records_to_table(_STAGED, records=inserts, columns=_ROW)
            await raw.execute(_UPSERT_STAGED)
        elif inserts:
            await raw.executemany(_UPSERT, inserts)
        if updates:
            await raw.executemany(_UPDATE, updates)
        for case_id, case in work.items():  # only once every statement succeeded
            states[case_id] = case.last

    async def _insert(
        self,
        conn: AsyncConnection,
        case_id: str,
        state: dict[str, Any],
        version: int,
        moment: datetime,
    ) -> None:
        values = {
            **columns(state, self.policy),
            "case_id": case_id,
            "version": version,
            "updated_at": moment,
            "state": state,
        }
        statement = insert(CASES).values(**values)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["case_id"],
                set_={k: statement.excluded[k] for k in values if k != "case_id"},
            )
        )


async def reset(conn: AsyncConnection) -> None:
    """Forget the projected cases (a rebuild replays them); legal-service's own records stay."""
    await conn.execute(text("DELETE FROM lg_cases"))
