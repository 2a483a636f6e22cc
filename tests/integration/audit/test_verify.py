"""`verify` against a real store: intact, it passes; any edit a DBA makes, it names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from case_service.application import CaseApplication
from case_service.audit.note import SignerKey
from case_service.audit.store import AuditStore
from case_service.audit.verify import verify_store
from case_service.checkpointer.runner import Checkpointer, StoreTampered
from case_service.settings import CaseServiceSettings
from eventsourcing.cipher import AESCipher

from .conftest import ORIGIN, OTHER_SEED, open_fields


def _sql(cases: CaseApplication, statement: str, *params: Any) -> None:
    with cases.recorder_.datastore.transaction(commit=True) as curs:
        curs.execute(statement, params)  # type: ignore[arg-type]


def _finding(store: AuditStore, signer: SignerKey) -> str | None:
    report = verify_store(store, signer.verifier)
    return None if report.finding is None else str(report.finding)


@pytest.fixture
def signed(portfolio: Callable[..., list[UUID]], checkpointer: Checkpointer) -> list[UUID]:
    ids = portfolio(loans=3, missed=3)
    checkpointer.resume()
    assert checkpointer.step() is not None
    return ids


def test_an_unchanged_store_verifies(
    signed: list[UUID], store: AuditStore, signer: SignerKey
) -> None:
    report = verify_store(store, signer.verifier)

    assert report.finding is None
    assert (report.events, report.cases, report.checkpoints) == (12, 3, 1)


def test_a_changed_byte_in_a_stored_event_is_named(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[1]
    _sql(
        cases,
        "UPDATE cases_events SET state = set_byte(state, 20, get_byte(state, 20) # 1) "
        "WHERE originator_id = %s AND originator_version = 3",
        case_id,
    )

    assert _finding(store, signer) == (
        f"case {case_id} version 3: the stored event does not match its hash"
    )


@pytest.mark.parametrize("column", ["topic", "originator_version"])
def test_a_changed_topic_or_version_is_named(
    column: str, signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[0]
    change = "topic = topic || 'x'" if column == "topic" else "originator_version = 9"
    _sql(
        cases,
        f"UPDATE cases_events SET {change} WHERE originator_id = %s AND originator_version = 4",
        case_id,
    )

    assert _finding(
        store,
        signer,
    ).startswith(f"case {case_id} version 4: ")  # type: ignore[union-attr]


def test_a_deleted_event_is_named(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[2]
    _sql(
        cases,
        "DELETE FROM cases_events WHERE originator_id = %s AND originator_version = 2",
        case_id,
    )

    assert _finding(store, signer) == (
        f"case {case_id} version 2: missing (the case goes on at version 3)"
    )


def test_a_deleted_last_event_is_caught_by_the_checkpoint(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[2]
    _sql(
        cases,
        "DELETE FROM cases_events WHERE originator_id = %s AND originator_version = 4",
        case_id,
    )

    finding = _finding(store, signer)

    assert finding is not None
    assert finding.startswith("checkpoint 12 signed 12 events; the store holds 11")


def test_an_inserted_event_is_named(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[0]
    _sql(
        cases,
        "INSERT INTO cases_events (originator_id, originator_version, topic, state) "
        "SELECT originator_id, 5, topic, state FROM cases_events "
        "WHERE originator_id = %s AND originator_version = 4",
        case_id,
    )

    assert _finding(store, signer) == (
        f"case {case_id} version 5: the event has no chain entry (inserted outside the store?)"
    )


@pytest.mark.parametrize(
    "change",
    [
        "hash = sha256(hash)",
        "hash = NULL",
        "recorded_at = recorded_at + interval '1 microsecond'",
        "recorded_at = NULL",
    ],
)
def test_a_changed_chain_column_in_the_events_row_is_named(
    change: str, signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[1]
    _sql(
        cases,
        f"UPDATE cases_events SET {change} WHERE originator_id = %s AND originator_version = 3",
        case_id,
    )

    what = (
        "the event has no chain entry (inserted outside the store?)"
        if change.endswith("NULL")
        else "the stored event does not match its hash"
    )
    assert _finding(store, signer) == f"case {case_id} version 3: {what}"


def test_an_event_copied_with_its_chain_columns_is_named(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[0]
    _sql(
        cases,
        "INSERT INTO cases_events (originator_id, originator_version, topic, state, "
        "recorded_at, hash) SELECT originator_id, 5, topic, state, recorded_at, hash "
        "FROM cases_events WHERE originator_id = %s AND originator_version = 4",
        case_id,
    )

    assert _finding(store, signer) == (
        f"case {case_id} version 5: the stored event does not match its hash"
    )


def test_an_event_rewritten_with_a_recomputed_chain_is_caught_by_the_checkpoint(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    """A DBA who knows the format can recompute a chain, but cannot re-sign the tree."""
    from case_service.audit.canonical import event_hash

    case_id = sorted(signed)[0]
    with cases.recorder_.datastore.transaction(commit=True) as curs:
        curs.execute(
            "UPDATE cases_events SET state = set_byte(state, 20, get_byte(state, 20) # 1) "
            "WHERE originator_id = %s AND originator_version = 4 RETURNING topic, state",
            (case_id,),
        )
        event = curs.fetchone()
        curs.execute(
            "SELECT p.hash AS prev_hash, e.recorded_at FROM cases_events e "
            "JOIN cases_events p ON p.originator_id = e.originator_id "
            "AND p.originator_version = 3 WHERE e.originator_id = %s AND e.originator_version = 4",
            (case_id,),
        )
        chain = curs.fetchone()
        assert event is not None
        assert chain is not None
        forged = event_hash(
            chain["prev_hash"], case_id, 4, event["topic"], event["state"], chain["recorded_at"]
        )
        curs.execute(
            "UPDATE cases_events SET hash = %s WHERE originator_id = %s AND originator_version = 4",
            (forged, case_id),
        )

    finding = _finding(store, signer)

    assert finding is not None
    assert finding.startswith("checkpoint 12: the store's events")


def test_a_swapped_pair_of_events_is_named(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    case_id = sorted(signed)[1]
    _sql(
        cases,
        "UPDATE cases_events e SET state = o.state, topic = o.topic FROM cases_events o "
        "WHERE e.originator_id = %s AND o.originator_id = e.originator_id "
        "AND ((e.originator_version = 2 AND o.originator_version = 3) "
        "OR (e.originator_version = 3 AND o.originator_version = 2))",
        case_id,
    )

    assert _finding(store, signer) == (
        f"case {case_id} version 2: the stored event does not match its hash"
    )


def test_a_checkpoint_signed_with_another_key_is_named(
    signed: list[UUID],
    cases: CaseApplication,
    store: AuditStore,
    signer: SignerKey,
) -> None:
    impostor = Checkpointer(store, SignerKey.from_base64(ORIGIN, OTHER_SEED), every_events=1)
    impostor.resume()
    cases.open_case(**open_fields("L-new"))  # one more event for the impostor to sign over
    impostor.step()

    finding = _finding(store, signer)

    assert finding is not None
    assert finding.startswith(f"checkpoint 13: not signed by {ORIGIN}")


def test_a_re_signed_checkpoint_with_another_root_is_named(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    _sql(cases, "UPDATE audit_checkpoints SET root = sha256(root)")

    assert _finding(store, signer) == "checkpoint 12: its columns differ from its note"


def test_the_checkpointer_refuses_to_sign_over_a_store_that_lost_a_signed_event(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    _sql(
        cases,
        "DELETE FROM cases_events WHERE notification_id = "
        "(SELECT max(notification_id) FROM cases_events)",
    )

    with pytest.raises(StoreTampered):
        Checkpointer(store, signer).resume()


def test_checkpoints_follow_the_store_and_stay_consistent(
    portfolio: Callable[..., list[UUID]], store: AuditStore, signer: SignerKey
) -> None:
    checkpointer = Checkpointer(store, signer, every_events=4, every_seconds=3600)
    checkpointer.resume()
    portfolio(loans=2, missed=1)
    first = checkpointer.step()
    portfolio(loans=3, missed=1)  # L-0, L-1 again (no new events) and L-2
    nothing_due = checkpointer.step()
    portfolio(loans=5, missed=2)
    second = checkpointer.step()

    assert first is not None
    assert first.tree_size == 4
    assert nothing_due is None
    assert second is not None
    assert second.tree_size > first.tree_size
    assert verify_store(store, signer.verifier).finding is None


def test_a_history_rewritten_and_re_signed_with_the_stolen_key_fails_a_kept_checkpoint(
    signed: list[UUID], cases: CaseApplication, store: AuditStore, signer: SignerKey
) -> None:
    """The key holder can re-sign a rewrite; a checkpoint an auditor kept still catches it."""
    (kept,) = store.checkpoints()
    case_id = sorted(signed)[0]
    with cases.recorder_.datastore.transaction(commit=True) as curs:
        curs.execute("DELETE FROM audit_checkpoints")
        curs.execute(
            "DELETE FROM cases_events WHERE originator_id = %s AND originator_version = 4",
            (case_id,),
        )
    thief = Checkpointer(store, signer, every_events=1)
    thief.resume()
    thief.step()

    alone = verify_store(store, signer.verifier)
    with_kept = verify_store(store, signer.verifier, [kept.note])

    assert alone.finding is None
    assert str(with_kept.finding) == "kept checkpoint 12: the store holds 11 events"


def test_a_rotated_cipher_key_reads_old_events_and_the_chain_still_verifies(
    signed: list[UUID], case_settings: CaseServiceSettings, signer: SignerKey
) -> None:
    new_key = AESCipher.create_key(num_bytes=32)
    rotated = case_settings.model_copy(
        update={"cipher_key": new_key, "cipher_old_keys": case_settings.cipher_key}
    )
    app = CaseApplication(rotated)
    try:
        app.open_case(**open_fields("L-after-rotation"))
        history = [type(e).__name__ for e in app.history(sorted(signed)[0])]
        report = verify_store(AuditStore(app.recorder_), signer.verifier)
    finally:
        app.close()

    assert history == ["CaseOpened", "PaymentMissed", "PaymentMissed", "PaymentMissed"]
    assert report.finding is None
    assert report.events == 13
