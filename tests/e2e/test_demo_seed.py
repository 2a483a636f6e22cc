"""`make run` seeds its demo before it prints the URLs, and hands every service back to real
time first: the demo's history lies in the past, and the first caller meets today."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arrears.business_date import business_date
from arrears_dev import devstack

from .system import JWT_SECRET, System
from .test_case_lifecycle import open_body


def _services(system: System) -> list[Any]:
    running = []
    for name in ("case-service", "contact-service", "legal-service"):
        port = int(system.url(name).rsplit(":", 1)[1])
        spec = devstack.ServiceSpec(name, name.replace("-", "_"), port, "unused")
        running.append(devstack.RunningService(spec=spec, child=None))  # type: ignore[arg-type]
    return running


def test_the_demo_is_seeded_in_the_past_and_the_services_answer_on_real_time(
    system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert system.clock_file is not None
    secrets = {
        "cipher_key": system.env["CIPHER_KEY"],
        "jwt_secret": JWT_SECRET,
        "checkpoint_signing_key": devstack._new_signing_key(),
    }
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    (tmp_path / "logs").mkdir()
    monkeypatch.setenv("ARREARS_SEED_LOANS", "20")
    started = datetime.now(UTC)

    devstack._seed_demo_portfolio(_services(system), tmp_path, str(system.clock_file))

    # The services' clock file is gone: real time from here on.
    assert not system.clock_file.exists()
    assert "Simulated 20 loans over 30 days" in (tmp_path / "logs" / "simulator.log").read_text()
    auditor = system.client("case-service", "auditor")
    events = auditor.get("/v1/events", params={"limit": 10000}).json()["events"]
    times = [datetime.fromisoformat(e["time"]) for e in events]
    assert min(times) < started - timedelta(days=20)  # the demo's history lies in the past
    assert max(times) <= datetime.now(UTC)
    # A caller now meets today: a case whose installment fell due 45 days ago is 45 days late,
    # and a payment made now is not "in the future".
    origination = system.client("case-service", "origination")
    case_id = origination.post("/v1/cases", json=open_body("E2E-AFTER-SEED")).json()["case_id"]
    today = business_date(datetime.now(UTC))  # the bank's date, as case-service counts
    missed = origination.post(
        f"/v1/cases/{case_id}/missed-payments",
        json={"installment": 1, "due_date": str(today - timedelta(days=45)), "amount": "500.00"},
    )
    assert missed.status_code == 201, missed.text
    assert auditor.get(f"/v1/cases/{case_id}").json()["days_past_due"] == 45
    paid = origination.post(
        f"/v1/cases/{case_id}/payments",
        json={"amount": "100.00", "paid_at": datetime.now(UTC).isoformat(), "reference": "NOW-1"},
    )
    assert paid.status_code == 201, paid.text
