"""A rebuild (`rebuild_read_models`, each page folded in memory: projections/fold.py) leaves
the read model the consumer's event-by-event path leaves, row by row in every table, over
generated histories of every kind of case event; and it never falls back to that path to
get there."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import re
import uuid
from base64 import b64encode
from datetime import timedelta
from typing import Any

import pytest
from arrears.messaging import Applier, Envelope, rebuild
from arrears.messaging.gaps import FeedPage
from arrears.messaging.personal import SealedCopy, SubjectKeyClient
from arrears.messaging.processing import Outcome
from contact_service.context import Context
from contact_service.projections import Projection
from contact_service.projections.fold import STARTING, PageFold
from contact_service.projections.missed import LeanMissed
from contact_service.readmodel.tables import RESTRICTIONS
from contact_service.rebuild import reapply_restrictions, rebuild_read_models, reset
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .conftest import START, Story, emitted
from .test_batch_projection import TABLES, _apply, _interleaved
from .test_kpi_counters import _same_as_the_scan, _stories

_ERASED = re.compile(r"^erased:.*")  # a fresh uuid or the row's id: not the same twice


class _ListFeed:
    """case-service's feed over a fixed list of envelopes (in sequence order)."""

    def __init__(self, envelopes: list[Envelope]) -> None:
        self.envelopes = envelopes

    async def page(self, after: int, limit: int = 1000) -> FeedPage:
        found = [e for e in self.envelopes if (e.sequence or 0) > after][:limit]
        last = found[-1].sequence or after if found else after
        return FeedPage(found, last, self.envelopes[-1].sequence or 0)


def _more(rng: random.Random, k: int, story: Story) -> None:
    """Every other kind of case event the projection handles, on some of the cases."""
    at = START + timedelta(hours=rng.randint(1, 30))
    iso = at.isoformat()
    if k % 6 == 1:
        story.add("ContactLost", at, as_of=iso, numbers_tried=3, call_attempts=9, sms_sent=1,
                  times_of_day=["morning", "afternoon", "evening"])  # fmt: skip
        if rng.random() < 0.5:
            later = at + timedelta(days=1)
            story.add("ContactRegained", later, channel="call", occurred_at=later.isoformat())
    if k % 6 == 2:
        number = f"+86137{rng.randint(0, 99_999_999):08d}"
        story.add("ContactPointAdded", at, contact_point=number, owner="employer", kind="work",
                  source="borrower", timezone=rng.choice([None, "Asia/Tokyo", "Europe/London"]),
                  added_at=iso, channel_kind="phone")  # fmt: skip
        story.attempt(at + timedelta(minutes=5), outcome="wrong_number", point=number)
        story.add("TimezoneCandidateAdded", at, timezone=rng.choice(["America/Los_Angeles",
                  "Asia/Shanghai"]), source="address", added_at=iso)  # fmt: skip
        story.attempt(at, outcome="disconnected", point="+8613800000002")
    if k % 6 == 3:
        story.add("ComplaintReceived", at, complaint_id=f"c-{k}", channel="phone",
                  category=rng.choice(["do_not_contact", "service", "attorney", "Deceased"]),
                  description=None, received_at=iso)  # fmt: skip
        if rng.random() < 0.5:
            story.add("ComplaintResolved", at + timedelta(hours=1), complaint_id=f"c-{k}",
                      resolution=None, resolved_at=iso)  # fmt: skip
        story.add("DisputeRaised", at, reason="not mine", raised_at=iso)
    if k % 6 == 4:
        story.add("RiskGraded", at, grade=rng.choice(["low", "high", "doubtful_loss"]),
                  score=rng.randint(1, 99), factors={}, as_of=at.date().isoformat())  # fmt: skip
        story.add("PlacedWithAgency", at, agency_id="AG-EAST", consent_ref="consent-1",
                  placed_at=iso)  # fmt: skip
        if rng.random() < 0.5:
            story.add("RecalledFromAgency", at, agency_id="AG-EAST", reason="poor results",
                      recalled_at=iso)  # fmt: skip
        story.add("JurisdictionChanged", at, from_jurisdiction="CN", to_jurisdiction="US-RegF",
                  reason="moved", changed_by=None, changed_at=iso)  # fmt: skip
    if k % 6 == 5:
        story.add("PaymentMissed", at, installment=2, currency="CNY", amount="800.50",
                  due_date=(at - timedelta(days=3)).date().isoformat())  # fmt: skip
        if rng.random() < 0.5:  # the same installment missed again (the lean read declines)
            story.add("PaymentMissed", at, installment=2, currency="CNY", amount="810.75",
                      due_date=(at - timedelta(days=2)).date().isoformat())  # fmt: skip
        story.add("PaymentPlanAgreed", at, agreed_at=iso, approved_by="sup-1", currency="CNY",
                  kind="instalment", plan_number=1, superseded=["1", "2"], total="2000.50",
                  installments=[{"number": n, "amount": "1000.25",
                                 "due_date": (at + timedelta(days=30 * n)).date().isoformat()}
                                for n in (1, 2)])  # fmt: skip
    if k % 4 == 1:  # the same call twice (one attempt: its version moves on)
        story.attempt(at, outcome="no_answer")
        story.attempt(at, outcome="no_answer")
    if k % 9 == 2:  # retention ended: personal data erased, and the case goes on
        story.add("PersonalDataErased", at, as_of=at.date().isoformat(),
                  closed_on=at.date().isoformat(), jurisdiction_rule="CN-5y",
                  retention_years=5)  # fmt: skip
        story.attempt(at + timedelta(hours=1), outcome="busy")


def _open_with_more(story: Story, payday: int) -> None:
    opened = story.events[0]
    borrower = {
        **opened.data["borrower"],
        "candidate_timezones": ["Asia/Tokyo", "Asia/Shanghai", "Australia/Perth"],
        "email": "Li.Wei@Example.com",
        "payday": payday,
    }
    guarantors = [{"name": "G", "phones": [{"number": "+86 139 1111 2222"}]}]
    data = {**opened.data, "borrower": borrower, "guarantors": guarantors}
    story.events[0] = dataclasses.replace(opened, data=data)


def _history(seed: int, n: int) -> list[Envelope]:
    rng = random.Random(seed)
    stories = _stories(rng, n)
    for k, story in enumerate(stories):
        if k % 5 == 3:  # a fuller opening: more zones, an e-mail, a payday, a guarantor
            _open_with_more(story, payday=rng.randint(1, 28))
        _more(rng, k, story)
    events = _interleaved(stories)
    return [dataclasses.replace(e, sequence=at) for at, e in enumerate(events, start=1)]


async def _restrictions(ctx: Context, events: list[Envelope]) -> None:
    """The restrictions log (kept by a rebuild, applied again at its end), on a few cases."""
    cases = sorted({e.subject for e in events if e.subject})[:6]
    entries = [
        (cases[0], "opt_out", True, "sms"),
        (cases[1], "do_not_contact", True, None),
        (cases[2], "cease_communication", True, None),
        (cases[2], "cease_communication", False, None),
        (cases[3], "opt_out", True, "call"),
    ]
    async with ctx.engine.begin() as conn:
        for case_id, kind, active, channel in entries:
            await conn.execute(
                insert(RESTRICTIONS).values(
                    case_id=case_id,
                    kind=kind,
                    active=active,
                    channel=channel,
                    contact_point=None,
                    recorded_by="sup-1",
                    recorded_at=START,
                )
            )


def _masked(value: Any) -> Any:
    return _ERASED.sub("erased:", value) if isinstance(value, str) else value


async def _tables(ctx: Context) -> dict[str, list[Any]]:
    """Every table the rebuild writes, row by row (ids and erased placeholders aside); the
    KPI deltas as their sums per key (both paths group a page's or a batch's)."""
    out: dict[str, list[Any]] = {}
    async with ctx.engine.connect() as conn:
        for table in TABLES:
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).mappings()
            out[table] = sorted(
                (sorted((k, _masked(v)) for k, v in r.items() if k != "id") for r in rows), key=repr
            )
        sums = await conn.execute(text(
            "SELECT measure, day, arm, strategy, k1, k2, sum(n), sum(amount) FROM cs_kpi_deltas"
            " GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0 OR sum(amount) <> 0"
            " ORDER BY 1, 2, 3, 4, 5, 6"))  # fmt: skip
        out["cs_kpi_deltas"] = [tuple(r) for r in sums]
    return out


def _count_lean(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each PaymentMissed the fold meets from now on is read lean."""
    answers: list[bool] = []
    apply = LeanMissed.apply

    def counted(self: LeanMissed, data: Any, row: Any, day: Any, **how: Any) -> bool:
        answers.append(apply(self, data, row, day, **how))
        return answers[-1]

    monkeypatch.setattr(LeanMissed, "apply", counted)
    return answers


def _count_handled(monkeypatch: pytest.MonkeyPatch) -> list[Envelope]:
    """The events applied one by one through `Projection.handle` from now on."""
    handled: list[Envelope] = []
    handle = Projection.handle

    async def counted(self: Projection, conn: AsyncConnection, envelope: Envelope) -> None:
        handled.append(envelope)
        await handle(self, conn, envelope)

    monkeypatch.setattr(Projection, "handle", counted)
    return handled


@pytest.mark.parametrize(("seed", "page_size"), [(1, 23), (2, 10_000), (3, 1)])
async def test_a_rebuild_leaves_the_read_model_the_event_by_event_path_leaves(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, seed: int, page_size: int
) -> None:
    events = _history(seed, 45)
    kinds = {e.event_name for e in events}
    assert {"CaseOpened", "PersonalDataErased", "ContactLost", "PromiseKept", "PromiseBroken",
            "ContactPointAdded", "PaymentPlanAgreed", "CaseReopened"} <= kinds  # fmt: skip
    await _restrictions(ctx, events)
    assert not await _apply(ctx, events, batch=False, size=1)
    await reapply_restrictions(ctx)
    one_by_one = await _tables(ctx)
    tasks_emitted = await emitted(ctx.engine)
    assert tasks_emitted
    assert one_by_one["cs_promises"]
    assert one_by_one["cs_outcomes"]

    async with ctx.engine.begin() as conn:  # tasks are kept by a rebuild: decided again here
        await reset(conn)
        await conn.execute(text("DELETE FROM cs_tasks"))
        await conn.execute(text("DELETE FROM test_emitted"))
    handled = _count_handled(monkeypatch)
    lean = _count_lean(monkeypatch)
    report = await rebuild_read_models(ctx, _ListFeed(events), page_size=page_size)

    assert report.events == report.applied == len(events)
    assert handled == []  # every page folded: none applied again event by event
    assert set(lean) == {True, False}  # PaymentMissed read lean, and typed where it declined
    assert await _tables(ctx) == one_by_one
    assert [task[1:] for task in await emitted(ctx.engine)] == [t[1:] for t in tasks_emitted]
    await _same_as_the_scan(ctx)


async def _keep(_conn: AsyncConnection) -> None:
    """A reset that resets nothing: the read model stays as the consumer left it."""


async def test_a_page_the_fold_cannot_apply_is_applied_event_by_event(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case the table already holds is opened again: the fold's INSERT fails, and the
    page goes through `Projection.handle`, which skips the opening as the consumer does."""
    events = _history(4, 12)
    assert not await _apply(ctx, events, batch=False, size=1)
    one_by_one = await _tables(ctx)
    opened = next(e for e in events if e.event_name == "CaseOpened")
    handled = _count_handled(monkeypatch)
    projection = Projection(ctx.book, ctx.profile, ctx.emit)
    applier = Applier(
        "fold-fallback", projection.handle, batch_handler=PageFold(projection).handle_batch
    )

    report = await rebuild(ctx.engine, applier, _ListFeed([opened]), _keep)

    assert report.applied == 1
    assert [e.id for e in handled] == [opened.id]
    assert await _tables(ctx) == one_by_one


async def test_the_consumers_batch_path_leaves_the_same_tables_over_the_same_histories(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumer's batch path (`Projection.handle_batch`) on the generated histories: the
    same tables as one event at a time (its derived values share `settle` with the fold)."""
    events = _history(5, 45)
    assert not await _apply(ctx, events, batch=False, size=1)
    one_by_one = await _tables(ctx)
    async with ctx.engine.begin() as conn:
        await reset(conn)
        await conn.execute(text("DELETE FROM cs_tasks"))
    modes: list[bool] = []
    apply = Applier.apply

    async def noted(self: Applier, conn: AsyncConnection, items: Any, *, careful: bool) -> Outcome:
        modes.append(careful)
        return await apply(self, conn, items, careful=careful)

    monkeypatch.setattr(Applier, "apply", noted)
    assert not await _apply(ctx, events, batch=True, size=150)
    assert modes == [False] * len(modes) != []  # every batch on the fast path
    assert await _tables(ctx) == one_by_one


class _KeyServer(SubjectKeyClient):
    """case-service's subject-key reads (`GET /v1/subject-keys/{id}`, the batch `POST`),
    answered from the test's keys; a subject without one answers 410, as once erased."""

    def __init__(self, keys: dict[str, bytes | None]) -> None:
        super().__init__("http://case-service", lambda: "unused")
        self.keys = keys
        self.opened_names: set[Any] = set()  # under which names sealed values were opened

    async def open_copy(self, copy: SealedCopy) -> Any:
        self.opened_names.update(at for _, at, _ in copy.places)
        return await super().open_copy(copy)

    def _found(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    async def fetch(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        key = self._found(path.rsplit("/", 1)[1])
        if key is None:
            return 410, b"{}"
        return 200, json.dumps({"key": b64encode(key).decode()}).encode()

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        refs = json.loads(body)["refs"]
        found = [{"key_id": r, "key": b64encode(k).decode()} for r in refs if (k := self._found(r))]
        erased = [r for r in refs if self._found(r) is None]
        return 200, json.dumps({"keys": found, "erased": erased, "unknown": []}).encode()


def _sealed(value: Any, key_id: str, keys: dict[str, bytes | None]) -> dict[str, str]:
    """A value as case-service publishes it (personal/fields.py): AES-GCM under the
    subject's key, the key id as associated data."""
    key = keys.setdefault(key_id, AESGCM.generate_key(256)) or AESGCM.generate_key(256)  # gone
    nonce = os.urandom(12)
    enc = nonce + AESGCM(key).encrypt(nonce, str(value).encode(), key_id.encode())
    return {"ref": key_id, "enc": b64encode(enc).decode(), "key_id": key_id}


def _seal_history(events: list[Envelope], keys: dict[str, bytes | None]) -> list[Envelope]:
    """The history with its personal fields sealed as the relay publishes them: the
    borrower's name, address, e-mail and numbers under the case's subject key, each
    guarantor's under one of its own, the numbers of attempts and added points whole. Every
    seventh case's borrower key is gone (erased): its values read "[erased]"."""
    subjects: dict[str, str] = {}
    out = []
    for e in events:
        subject = subjects.setdefault(e.subject or "", uuid.uuid4().hex)
        if len(subjects) % 7 == 0 and e.event_name == "CaseOpened":
            keys[subject] = None
        data = json.loads(json.dumps(e.data))
        personal: tuple[str, ...] = ()
        if e.event_name == "CaseOpened":
            personal = ("borrower", "guarantors", "collateral")
            borrower = data["borrower"]
            for name in ("name", "address", "email"):
                if borrower.get(name) is not None:
                    borrower[name] = _sealed(borrower[name], subject, keys)
            for phone in borrower.get("phones") or []:
                phone["number"] = _sealed(phone["number"], subject, keys)
            for guarantor in data.get("guarantors") or []:
                own = uuid.uuid4().hex
                guarantor["name"] = _sealed(guarantor["name"], own, keys)
                for phone in guarantor.get("phones") or []:
                    phone["number"] = _sealed(phone["number"], own, keys)
        elif "contact_point" in data:
            personal = ("contact_point",)
            data["contact_point"] = _sealed(data["contact_point"], subject, keys)
        out.append(dataclasses.replace(e, data=data, personaldata=personal))
    return out


@pytest.mark.parametrize(
    ("seed", "page_size", "ahead"), [(6, 17, True), (7, 10_000, True), (8, 23, False)]
)
async def test_a_rebuild_opens_personal_fields_as_the_event_by_event_path_does(
    ctx: Context, monkeypatch: pytest.MonkeyPatch, seed: int, page_size: int, ahead: bool
) -> None:
    """Sealed histories (as the relay publishes them, some subjects erased): the rebuild
    opens each page's values before applying it (`PageFold.open_ahead`, its `prepare`), or
    the fold opens them itself (`open_envelope`: a page nothing prepared), the consumer through
    `open_envelope`; the tables come out the same, numbers sealed again under
    contact-service's own key."""
    keys: dict[str, bytes | None] = {}
    events = _seal_history(_history(seed, 30), keys)
    assert any(k is None for k in keys.values())
    server = ctx.keys = _KeyServer(keys)
    opened_in_fold: list[str] = []
    try:
        assert not await _apply(ctx, events, batch=False, size=1)
        one_by_one = await _tables(ctx)
        assert "[erased]" in repr(one_by_one["cs_contact_points"])  # masked as erased
        async with ctx.engine.begin() as conn:
            await reset(conn)
            await conn.execute(text("DELETE FROM cs_tasks"))
        ctx.keys.forget()
        opened = ctx.keys.open_envelope

        async def counted(envelope: Envelope, only: frozenset[str] | None = None) -> Envelope:
            opened_in_fold.append(envelope.id)
            return await opened(envelope, only)

        monkeypatch.setattr(ctx.keys, "open_envelope", counted)
        handled = _count_handled(monkeypatch)
        if ahead:
            report = await rebuild_read_models(ctx, _ListFeed(events), page_size=page_size)
        else:
            projection = Projection(ctx.book, ctx.profile, ctx.emit, keys=ctx.keys)
            applier = Applier(
                ctx.settings.consumer_group,
                projection.handle,
                batch_handler=PageFold(projection).handle_batch,
            )
            report = await rebuild(
                ctx.engine, applier, _ListFeed(events), reset, page_size=page_size
            )
            await reapply_restrictions(ctx)
    finally:
        await ctx.keys.aclose()
        ctx.keys = None
    assert report.events == report.applied == len(events)
    assert handled == []
    assert (opened_in_fold == []) == ahead
    tables = await _tables(ctx)
    assert tables == one_by_one
    assert "Li Wei" not in repr(tables)
    assert "+8613800000001" not in repr(tables)
    # Only what the read model uses was opened: numbers and addresses, never a name.
    assert {"number", "address"} <= server.opened_names
    assert "name" not in server.opened_names


async def test_the_columns_a_rebuilds_copy_leaves_out_take_the_starting_values(
    ctx: Context,
) -> None:
    """A page's COPY of new cases leaves out a column every one of them holds at its starting
    value (`fold.STARTING`), or None: the table's own defaults (migration 0006) must be
    exactly those values, and every other column must default to NULL; a new contact
    point's COPY leaves out its opted-out channels (none yet)."""
    async with ctx.engine.connect() as conn:
        defaults = dict(
            (
                await conn.execute(
                    text(
                        "SELECT column_name, column_default FROM information_schema.columns"
                        " WHERE table_name = 'cs_cases' AND column_default IS NOT NULL"
                    )
                )
            ).all()
        )
        assert set(defaults) == set(STARTING)
        for column, default in defaults.items():
            value = (await conn.execute(text(f"SELECT {default}"))).scalar_one()
            assert value == STARTING[column]
        # A new contact point is copied without its opted-out channels: none.
        point_default = (
            await conn.execute(
                text(
                    "SELECT column_default FROM information_schema.columns"
                    " WHERE table_name = 'cs_contact_points' AND column_name = 'opted_out'"
                )
            )
        ).scalar_one()
        assert (await conn.execute(text(f"SELECT {point_default}"))).scalar_one() == []
