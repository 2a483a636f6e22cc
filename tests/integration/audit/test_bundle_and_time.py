"""Bundles verify offline and fail on any changed byte; recorded time is the database's."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from arrears.clock import FileClock, set_file_clock
from case_service.application import CaseApplication
from case_service.audit.bundle import BundleError, export_bundle, render, verify_bundle
from case_service.audit.note import SignerKey, VerifierKey, open_note
from case_service.audit.store import AuditStore
from case_service.audit_cli import main
from case_service.checkpointer.runner import Checkpointer
from case_service.settings import CaseServiceSettings
from fastapi.testclient import TestClient

from .conftest import ORIGIN, OTHER_SEED, auth, open_fields


@pytest.fixture
def bundle(
    portfolio: Callable[..., list[UUID]], checkpointer: Checkpointer, store: AuditStore
) -> bytes:
    ids = portfolio(loans=3, missed=2)
    checkpointer.resume()
    checkpointer.step()
    return render(export_bundle(store, sorted(ids)[1]))


def test_a_bundle_verifies_with_the_published_key_alone(bundle: bytes, signer: SignerKey) -> None:
    summary = verify_bundle(bundle, signer.verifier)

    assert summary.startswith("bundle verified: ")
    assert "3 events, 3 included in the checkpoint of 9 events" in summary


def test_a_bundle_fails_when_any_byte_changes(bundle: bytes, signer: SignerKey) -> None:
    step = max(1, len(bundle) // 400)  # ~400 positions across every field, quickly
    for position in range(0, len(bundle), step):
        for flip in (0x01, 0x20):
            damaged = bytearray(bundle)
            damaged[position] ^= flip
            with pytest.raises(BundleError):
                verify_bundle(bytes(damaged), signer.verifier)


def test_a_bundle_fails_with_another_key(bundle: bytes) -> None:
    other = SignerKey.from_base64(ORIGIN, OTHER_SEED).verifier

    with pytest.raises(BundleError, match="not signed by"):
        verify_bundle(bundle, other)


def test_a_bundle_missing_an_event_names_it(bundle: bytes, signer: SignerKey) -> None:
    data = json.loads(bundle)
    del data["events"][1]

    with pytest.raises(BundleError, match="version 2: missing"):
        verify_bundle(render(data), signer.verifier)


def test_the_cli_exports_and_verifies_a_bundle_offline(
    portfolio: Callable[..., list[UUID]],
    checkpointer: Checkpointer,
    case_settings: CaseServiceSettings,
    signer: SignerKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    portfolio(loans=2, missed=1)
    checkpointer.resume()
    checkpointer.step()
    monkeypatch.setenv("DATABASE_URL", case_settings.database_url)
    monkeypatch.setenv("CIPHER_KEY", case_settings.cipher_key)
    key_file = tmp_path / "key.pub"
    key_file.write_text(signer.verifier.text())
    out = tmp_path / "case.bundle.json"

    exported = main(["export", "--loan-id", "L-1", "--out", str(out)])
    verified = main(["verify", "--public-key", signer.verifier.text()])
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # offline
    offline = main(["verify-bundle", str(out), "--public-key", str(key_file)])
    printed = capsys.readouterr().out

    assert (exported, verified, offline) == (0, 0, 0)
    assert "verified: 4 events in 2 cases, 1 signed checkpoints" in printed
    assert "bundle verified: case" in printed


def test_history_without_a_cipher_key_says_so_in_one_line(
    portfolio: Callable[..., list[UUID]],
    case_settings: CaseServiceSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    portfolio(loans=1, missed=1)
    monkeypatch.setenv("DATABASE_URL", case_settings.database_url)
    monkeypatch.delenv("CIPHER_KEY", raising=False)

    status = main(["history", "--loan-id", "L-0"])
    err = capsys.readouterr().err

    assert status == 2
    assert err.count("\n") == 1
    assert "no CIPHER_KEY is set" in err


def test_a_file_clock_thirty_days_back_does_not_stamp_recorded_time(
    case_settings: CaseServiceSettings, tmp_path: Path
) -> None:
    clock_file = tmp_path / "clock"
    thirty_days_ago = datetime.now(UTC) - timedelta(days=30)
    set_file_clock(clock_file, thirty_days_ago)
    app = CaseApplication(case_settings, clock=FileClock(clock_file))
    try:
        before = datetime.now(UTC)
        case, _ = app.open_case(**open_fields("L-clock"))
        after = datetime.now(UTC)
        (event,) = app.history(case.id)
        recorded = app.recorder_.recorded_times(case.id)[1]
        as_of_now = app.case_as_of(case.id, after + timedelta(seconds=1))
        with pytest.raises(Exception, match="no case"):
            app.case_as_of(case.id, thirty_days_ago + timedelta(days=1))
    finally:
        app.close()
        os.environ.pop("CLOCK_FILE", None)

    assert before - timedelta(seconds=5) <= recorded <= after + timedelta(seconds=5)
    assert abs(event.timestamp - thirty_days_ago) < timedelta(minutes=1)  # business time kept
    assert as_of_now.version == 1


def test_auditors_read_the_public_key_and_checkpoints_over_http(
    client: TestClient,
    portfolio: Callable[..., list[UUID]],
    checkpointer: Checkpointer,
    signer: SignerKey,
) -> None:
    portfolio(loans=2, missed=1)
    checkpointer.resume()
    checkpointer.step()

    key = client.get("/v1/audit/public-key", headers=auth("auditor"))
    listed = client.get("/v1/audit/checkpoints", params={"after": 0}, headers=auth("auditor"))
    later = client.get("/v1/audit/checkpoints", params={"after": 4}, headers=auth("auditor"))
    refused = client.get("/v1/audit/checkpoints", headers=auth("collector"))
    bad = client.get("/v1/audit/checkpoints", params={"after": -1}, headers=auth("auditor"))

    assert key.json()["verifier_key"] == signer.verifier.text()
    (item,) = listed.json()["items"]
    assert item["tree_size"] == 4
    assert open_note(item["note"], VerifierKey.parse(key.json()["verifier_key"])).tree_size == 4
    assert later.json() == {"items": [], "next_after": 4}
    assert refused.status_code == 403
    assert bad.status_code == 422


def test_two_checkpoints_are_proved_consistent_offline_from_the_api(
    client: TestClient,
    cases: CaseApplication,
    store: AuditStore,
    signer: SignerKey,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checkpointer = Checkpointer(store, signer, every_events=1, every_seconds=0)
    checkpointer.resume()
    for n in range(5):  # checkpoints of 1, 2, 3, 4, 5 events
        cases.open_case(**open_fields(f"L-c{n}"))
        checkpointer.step()
    got = client.get("/v1/audit/consistency", params={"from": 3, "to": 5}, headers=auth("auditor"))
    (tmp_path / "proof.json").write_text(got.text)
    forged = got.json() | {"old_checkpoint": store.checkpoint_at(2).note}  # type: ignore[union-attr]
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    key = signer.verifier.text()

    good = main(["verify-consistency", str(tmp_path / "proof.json"), "--public-key", key])
    bad = main(["verify-consistency", str(tmp_path / "forged.json"), "--public-key", key])
    out, err = capsys.readouterr()
    backwards = client.get(
        "/v1/audit/consistency", params={"from": 5, "to": 3}, headers=auth("auditor")
    )
    unknown = client.get(
        "/v1/audit/consistency", params={"from": 3, "to": 9}, headers=auth("auditor")
    )

    assert got.status_code == 200
    assert (good, bad) == (0, 1)
    assert "consistent: the checkpoint of 3 events" in out
    assert "FAILED" in err
    assert backwards.status_code == 422
    assert unknown.status_code == 404
