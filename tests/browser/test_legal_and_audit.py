"""The legal officer's forms for every legal step, with the services' field errors beside the
field; a supervisor recalls a case from its agency; an auditor sees the case's hash chain
verified against a signed checkpoint and downloads its evidence bundle, and sees an altered
event named. Runs its own system,
with the checkpointer signing the store. Screenshots go to docs/console/."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from case_service.audit.bundle import verify_bundle
from case_service.audit.note import SignerKey, VerifierKey, new_seed_base64
from e2e.system import System, running_system, wait_until
from e2e.test_case_lifecycle import open_body
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from .conftest import console_url, label_for, screenshot, sign_in, wait

SEED = new_seed_base64()
PUBLIC_KEY = SignerKey.from_base64("arrears/case-service", SEED).verifier.text()
LOAN = "BR-LEGAL-0001"


@pytest.fixture(scope="module")
def system(
    postgres_url_base: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    """The whole system, case-service serving the checkpoints' public key, and the
    checkpointer process signing the store as events arrive."""
    logs = tmp_path_factory.mktemp("browser-legal-logs")
    env = {
        "KAFKA_SESSION_TIMEOUT_MS": "1000",
        "KAFKA_HEARTBEAT_INTERVAL_MS": "200",
        "CHECKPOINT_PUBLIC_KEY": PUBLIC_KEY,
    }
    with running_system(
        postgres_url_base, kafka_bootstrap_servers, logs, env, console=True
    ) as running:
        checkpointer_env = {
            **running.env,
            "SERVICE_NAME": "case-service",
            "DATABASE_URL": running.databases["case"],
            "CHECKPOINT_SIGNING_KEY": SEED,
            "CHECKPOINT_EVERY_SECONDS": "0",
            "CHECKPOINT_POLL_SECONDS": "0.2",
        }
        with (logs / "checkpointer.log").open("ab") as log:
            checkpointer = subprocess.Popen(
                [sys.executable, "-m", "case_service.checkpointer"],
                env=checkpointer_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            yield running
        finally:
            checkpointer.terminate()
            checkpointer.wait(15)


@pytest.fixture(scope="module")
def case_id(system: System) -> str:
    """A case 400 days past due with a guarantor, known to legal-service."""
    body = open_body(LOAN)
    body["guarantors"] = [{"id": "G-LEGAL-1", "name": "Li Si", "phones": []}]
    with system.client("case-service", "origination") as origination:
        opened = origination.post("/v1/cases", json=body)
        opened.raise_for_status()
        found: str = opened.json()["case_id"]
        origination.post(
            f"/v1/cases/{found}/missed-payments",
            json={
                "installment": 1,
                "due_date": (date.today() - timedelta(days=400)).isoformat(),
                "amount": "20000.00",
            },
        ).raise_for_status()
    with system.client("legal-service", "legal") as legal:
        wait_until(
            lambda: (
                (r := legal.get(f"/v1/legal/cases/{found}")).status_code == 200
                and r.json()["guarantors"]
                and r.json()["days_past_due"] >= 400
            ),
            timeout=90,
        )
    return found


def _submit(browser: WebDriver, button: str) -> None:
    browser.find_element(By.XPATH, f"//button[normalize-space()='{button}']").click()


def _recorded(browser: WebDriver, step: str) -> None:
    wait(browser, 60).until(lambda d: f"recorded={step}" in d.current_url)
    assert browser.find_element(By.ID, "step-recorded").text


def _type(browser: WebDriver, label: str, text: str) -> None:
    field = label_for(browser, label)
    field.clear()  # type: ignore[attr-defined]
    field.send_keys(text)  # type: ignore[attr-defined]


def test_a_legal_officer_records_every_legal_step_with_errors_beside_the_field(
    system: System, browser: WebDriver, case_id: str
) -> None:
    sign_in(browser, system, "legal1")
    browser.get(console_url(system, f"/legal/cases/{case_id}"))

    # A cost the service cannot read: its words, beside the amount.
    Select(label_for(browser, "Cost kind")).select_by_value("court_fee")  # type: ignore[arg-type]
    _type(browser, "Cost amount", "twelve")
    _submit(browser, "Record cost")
    # Read again at each look: a later swap may replace the element found first.
    error = wait(browser).until(lambda d: d.find_element(By.ID, "legal-costs-amount-error").text)
    assert error.strip()
    assert label_for(browser, "Cost amount").get_attribute("value") == "twelve"  # type: ignore[attr-defined]
    _type(browser, "Cost amount", "1500.00")
    _type(browser, "Invoice or receipt reference", "INV-77")
    _submit(browser, "Record cost")
    _recorded(browser, "legal-costs")

    Select(label_for(browser, "Guarantor")).select_by_value("G-LEGAL-1")  # type: ignore[arg-type]
    _type(browser, "Amount demanded", "5000.00")
    _submit(browser, "Record guarantor demand")
    _recorded(browser, "guarantor-demands")

    _type(browser, "Court", "Shanghai Huangpu District People's Court")
    _type(browser, "Docket number", "(2026)沪0101民初1号")
    _type(browser, "Claim amount", "20000.00")
    _submit(browser, "Record lawsuit")
    _recorded(browser, "lawsuits")

    # More than the claim: case-service refuses it and names the field.
    _type(browser, "Court order reference", "(2026)沪0101财保1号")
    _type(browser, "Amount preserved", "99999.00")
    _submit(browser, "Record preservation")
    refused = wait(browser).until(
        lambda d: d.find_element(By.ID, "asset-preservations-amount-error").text
    )
    assert "claim" in refused
    _type(browser, "Amount preserved", "15000.00")
    _submit(browser, "Record preservation")
    _recorded(browser, "asset-preservations")

    def on_file(driver: WebDriver) -> bool:
        # Costs and demands come back to legal-service as case events over Kafka.
        costs = driver.find_element(By.ID, "legal-costs").text
        guarantors = driver.find_element(By.ID, "guarantors").text
        if "INV-77" in costs and "Yes" in guarantors:
            return True
        driver.refresh()
        return False

    wait(browser, 60).until(on_file)
    screenshot(browser, "legal-steps")

    _type(browser, "Write-off reason", "no assets found after enforcement")
    _type(browser, "Approved by", "credit committee 2026-12")
    _submit(browser, "Record write-off")
    _recorded(browser, "write-offs")


def test_a_supervisor_recalls_a_case_from_its_agency(system: System, browser: WebDriver) -> None:
    with system.client("case-service", "origination") as origination:
        opened = origination.post("/v1/cases", json=open_body("BR-AGENCY-0001"))
        found = opened.json()["case_id"]
        origination.post(
            f"/v1/cases/{found}/missed-payments",
            json={
                "installment": 1,
                "due_date": (date.today() - timedelta(days=100)).isoformat(),
                "amount": "3000.00",
            },
        ).raise_for_status()
    sign_in(browser, system, "supervisor1")
    browser.get(console_url(system, f"/cases/{found}"))
    _type(browser, "Agency", "AG-WEST")
    _type(browser, "Borrower's consent reference", "consent-9")
    _submit(browser, "Place with agency")
    wait(browser).until(ec.presence_of_element_located((By.ID, "recall_reason")))
    _submit(browser, "Recall from agency")  # no reason given: the service names the field
    missing = wait(browser).until(
        lambda d: d.find_element(By.ID, "recall_reason-error").text.strip()
    )
    assert missing
    _type(browser, "Reason for the recall", "agency contract ended")
    _submit(browser, "Recall from agency")
    recorded = wait(browser).until(ec.presence_of_element_located((By.ID, "plans-recorded")))
    assert "Recall from agency" in recorded.text
    assert browser.find_element(By.ID, "agency_id")  # placeable again


def test_an_auditor_sees_the_chain_verified_and_downloads_the_evidence_bundle(
    system: System, browser: WebDriver, case_id: str, tmp_path: Path
) -> None:
    with system.client("case-service", "auditor") as auditor:

        def checkpointed() -> bool:
            # The checkpointer signs what is stored; wait until it covers the whole case.
            found = auditor.get(f"/v1/audit/cases/{case_id}/verification").json()
            summary = found.get("bundle_summary") or ""
            return bool(found["verified"] and summary and "not yet" not in summary)

        wait_until(checkpointed, timeout=60)
    sign_in(browser, system, "auditor1")
    browser.get(console_url(system, f"/cases/{case_id}/history"))
    result = wait(browser, 60).until(ec.presence_of_element_located((By.ID, "verification-result")))
    assert result.text.startswith("Verified")
    assert "signed checkpoint" in result.text
    assert "arrears/case-service" in browser.find_element(By.ID, "verification").text
    screenshot(browser, "history-verified")

    link = browser.find_element(By.LINK_TEXT, "Export the evidence bundle")
    href = link.get_attribute("href") or ""
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    bundle = httpx.get(href, cookies=cookies, timeout=30)
    assert bundle.status_code == 200
    assert json.loads(bundle.content)["case_id"] == case_id
    # Byte for byte as case-service exported it: the offline check accepts it.
    summary = verify_bundle(bundle.content, VerifierKey.parse(PUBLIC_KEY))
    assert summary.startswith(f"bundle verified: case {case_id}")


def test_an_auditor_sees_an_altered_event_named_on_the_history_page(
    system: System, browser: WebDriver
) -> None:
    with system.client("case-service", "origination") as origination:
        opened = origination.post("/v1/cases", json=open_body("BR-TAMPER-0001"))
        found = opened.json()["case_id"]
        origination.post(
            f"/v1/cases/{found}/missed-payments",
            json={
                "installment": 1,
                "due_date": (date.today() - timedelta(days=5)).isoformat(),
                "amount": "100.00",
            },
        ).raise_for_status()
    # A database administrator flips one bit of the stored second event.
    with psycopg.connect(system.databases["case"], autocommit=True) as conn:
        conn.execute(
            "UPDATE cases_events SET state = set_byte(state, 20, get_byte(state, 20) # 1) "
            "WHERE originator_id = %s AND originator_version = 2",
            (found,),
        )
    sign_in(browser, system, "auditor1")
    browser.get(console_url(system, f"/cases/{found}/history"))
    result = wait(browser, 60).until(ec.presence_of_element_located((By.ID, "verification-result")))
    assert result.text.startswith("Not verified")
    assert "version 2: the stored event does not match its hash" in result.text
    screenshot(browser, "history-tampered")
