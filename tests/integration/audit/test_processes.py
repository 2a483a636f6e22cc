"""The checkpointer as its own process, and `make audit`'s way in to the embedded default."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from arrears_dev import devstack
from case_service.audit.store import AuditStore
from case_service.settings import CaseServiceSettings

from .conftest import SEED


def test_the_checkpointer_process_signs_the_store_and_stops_on_sigterm(
    portfolio: Callable[..., list[UUID]],
    case_settings: CaseServiceSettings,
    store: AuditStore,
) -> None:
    portfolio(loans=2, missed=1)
    env = {
        **os.environ,
        "DATABASE_URL": case_settings.database_url,
        "CIPHER_KEY": case_settings.cipher_key,
        "CHECKPOINT_SIGNING_KEY": SEED,
        "CHECKPOINT_EVERY_SECONDS": "0",
        "CHECKPOINT_POLL_SECONDS": "0.2",
    }
    process = subprocess.Popen([sys.executable, "-m", "case_service.checkpointer"], env=env)
    try:
        deadline = time.monotonic() + 30
        while store.latest_checkpoint() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=15)

    latest = store.latest_checkpoint()
    assert latest is not None
    assert latest.tree_size == 4
    assert status == 0


def test_the_checkpointer_without_a_key_says_so_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHECKPOINT_")}
    done = subprocess.run(
        [sys.executable, "-m", "case_service.checkpointer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "checkpointer: no CHECKPOINT_SIGNING_KEY or CHECKPOINT_SIGNING_KEY_FILE is set"
    ]


def test_make_audit_reads_the_embedded_defaults_secrets(
    portfolio: Callable[..., list[UUID]],
    case_settings: CaseServiceSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    portfolio(loans=1, missed=1)
    (tmp_path / "secrets.json").write_text(
        json.dumps(
            {
                "cipher_key": case_settings.cipher_key,
                "jwt_secret": "x" * 48,
                "checkpoint_signing_key": SEED,
            }
        )
    )
    monkeypatch.setenv("ARREARS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", case_settings.database_url)
    for name in ("CIPHER_KEY", "CHECKPOINT_PUBLIC_KEY"):
        monkeypatch.delenv(name, raising=False)

    history = devstack.main(["audit", "history", "--loan-id", "L-0"])
    lines = capsys.readouterr().out.splitlines()
    verified = devstack.main(["audit", "verify"])

    assert history == 0
    assert [json.loads(line)["type"] for line in lines] == ["CaseOpened", "PaymentMissed"]
    assert json.loads(lines[0])["data"]["loan_id"] == "L-0"
    assert verified == 0
    assert "verified: 2 events in 1 cases" in capsys.readouterr().out


def test_an_old_secrets_file_gets_a_signing_key_once(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text(json.dumps({"cipher_key": "k", "jwt_secret": "j"}))

    first = devstack.load_or_create_secrets(tmp_path)
    second = devstack.load_or_create_secrets(tmp_path)

    assert first.checkpoint_signing_key
    assert second == first
    assert devstack.checkpoint_public_key(first.checkpoint_signing_key).startswith(
        "arrears/case-service+"
    )
