"""The console from the outside, in a real browser: each role signs in; a collector works a
case from the queue to a recorded attempt and promise; a night-time call is refused with the
guard's reason; the supervisor sees the promise; an auditor reads the history and an old state,
and is refused the attempt form. Screenshots of each page go to docs/console/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from arrears.business_date import business_date
from e2e.system import System, wait_until
from e2e.test_case_lifecycle import open_body
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select

from .conftest import SHOTS, console_url, label_for, screenshot, sign_in, wait

SHOTS_TABLET = SHOTS / "queue-tablet.png"

# Zones a case can live in; the tests pick one where it is working hours now and one where it
# is the middle of the night, so they pass at any hour of the day.
ZONES = (
    "Asia/Shanghai", "Pacific/Pago_Pago", "Pacific/Honolulu", "America/Anchorage",
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
    "America/Halifax", "America/Sao_Paulo", "Atlantic/South_Georgia", "Atlantic/Azores",
    "Europe/London", "Europe/Berlin", "Europe/Athens", "Europe/Moscow", "Asia/Dubai",
    "Asia/Karachi", "Asia/Dhaka", "Asia/Bangkok", "Asia/Tokyo", "Australia/Brisbane",
    "Pacific/Noumea", "Pacific/Auckland", "Pacific/Tongatapu", "Pacific/Kiritimati",
)  # fmt: skip


def _zone(hours: range, same_date: bool) -> str:
    now = datetime.now(UTC)
    for name in ZONES:
        local = now.astimezone(ZoneInfo(name))
        if local.hour in hours and (not same_date or local.date() == now.date()):
            return name
    pytest.skip(f"no zone has a local hour in {hours} now")


@dataclass(frozen=True)
class Cases:
    day_id: str
    day_loan: str
    night_id: str


@pytest.fixture(scope="module")
def cases(system: System) -> Cases:
    origination = system.client("case-service", "origination")
    collector = system.client("contact-service", "collector")
    today = business_date(datetime.now(UTC))  # days past due count on the bank's date
    opened = {}
    for loan, zone, overdue in (
        ("BR-DAY-0001", _zone(range(9, 19), same_date=True), 40),
        ("BR-NIGHT-0001", _zone(range(0, 6), same_date=False), 10),
    ):
        body = open_body(loan)
        body["borrower"]["timezone"] = zone
        case_id = origination.post("/v1/cases", json=body).json()["case_id"]
        origination.post(
            f"/v1/cases/{case_id}/missed-payments",
            json={
                "installment": 1,
                "due_date": (today - timedelta(days=overdue)).isoformat(),
                "amount": "3000.00",
            },
        ).raise_for_status()
        opened[loan] = case_id
    for case_id in opened.values():
        wait_until(
            lambda c=case_id: collector.get(f"/v1/cases/{c}/contact-view").status_code == 200,
            timeout=90,
        )
    # The nightly aging records the buckets; contact-service queues a case from then on.
    with system.client("case-service", "service") as service:
        service.post("/v1/aging-runs", json={}).raise_for_status()
    wait_until(
        lambda: any(
            i["case_id"] == opened["BR-DAY-0001"]
            for i in collector.get("/v1/queues/all").json()["items"]
        ),
        timeout=60,
    )
    return Cases(opened["BR-DAY-0001"], "BR-DAY-0001", opened["BR-NIGHT-0001"])


START = {
    "collector1": ("/queue", "Work queue"),
    "collector2": ("/queue", "Work queue"),
    "supervisor1": ("/dashboard", "Dashboard"),
    "legal1": ("/legal", "Legal pipeline"),
    "auditor1": ("/audit", "Audit"),
    "admin": ("/dashboard", "Dashboard"),
}


def test_each_role_signs_in_and_lands_on_its_start_page(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    browser.get(console_url(system, "/login"))
    screenshot(browser, "login")
    for username, (path, heading) in START.items():
        sign_in(browser, system, username)
        assert browser.current_url.endswith(path), username
        assert browser.find_element(By.TAG_NAME, "h1").text == heading
        if username in ("legal1", "auditor1"):
            screenshot(browser, path.strip("/"))
        browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']").click()
        wait(browser).until(lambda d: d.current_url.endswith("/login"))


def test_a_wrong_password_keeps_the_user_on_the_sign_in_page(
    system: System, browser: WebDriver
) -> None:
    browser.delete_all_cookies()
    browser.get(console_url(system, "/login"))
    label_for(browser, "Username").send_keys("collector1")  # type: ignore[attr-defined]
    label_for(browser, "Password").send_keys("not-the-password")  # type: ignore[attr-defined]
    browser.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    alert = wait(browser).until(ec.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "Wrong username or password" in alert.text


def test_sign_in_works_from_the_keyboard_and_pages_fit_a_tablet(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    browser.delete_all_cookies()
    browser.set_window_size(768, 1024)
    try:
        browser.get(console_url(system, "/login"))
        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)  # the skip link
        browser.switch_to.active_element.send_keys(Keys.TAB)
        focused = browser.switch_to.active_element
        assert focused.get_attribute("id") == "username"
        focused.send_keys("collector1", Keys.TAB)
        browser.switch_to.active_element.send_keys(system.demo_users["collector1"], Keys.ENTER)
        wait(browser).until(lambda d: d.current_url.endswith("/queue"))
        for path in ("/queue", f"/cases/{cases.day_id}"):
            browser.get(console_url(system, path))
            sideways = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert sideways <= 0, f"{path} scrolls sideways by {sideways}px on a tablet"
        driver_shot = SHOTS_TABLET
        browser.get(console_url(system, "/queue"))
        browser.save_screenshot(str(driver_shot))
    finally:
        browser.set_window_size(1280, 800)


def _record_attempt(browser: WebDriver, outcome: str) -> None:
    Select(label_for(browser, "Channel")).select_by_value("call")  # type: ignore[arg-type]
    Select(label_for(browser, "Number")).select_by_index(0)  # type: ignore[arg-type]
    Select(label_for(browser, "Outcome")).select_by_value(outcome)  # type: ignore[arg-type]
    browser.find_element(By.XPATH, "//button[normalize-space()='Record attempt']").click()


def test_a_collector_works_a_case_from_the_queue_to_an_attempt_and_a_promise(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "collector1")
    assert browser.find_elements(By.XPATH, f"//a[contains(@href, '{cases.day_id}')]")
    assert "M2" in browser.find_element(By.TAG_NAME, "table").text
    screenshot(browser, "queue")
    browser.find_element(By.XPATH, "//button[normalize-space()='Next case']").click()
    wait(browser).until(lambda d: d.current_url.endswith(f"/cases/{cases.day_id}"))
    assert browser.find_element(By.ID, "bucket").text == "M2"
    assert browser.find_element(By.ID, "dpd").text == "40"
    guard = browser.find_element(By.ID, "guard").text
    assert "Yes" in guard

    browser.execute_script("window.stillThisPage = true")
    _record_attempt(browser, "no_answer")
    recorded = wait(browser).until(ec.presence_of_element_located((By.ID, "attempt-recorded")))
    assert "No answer" in recorded.text
    assert browser.execute_script("return window.stillThisPage") is True  # no full reload
    assert "No answer" in browser.find_element(By.ID, "recent-contacts").text

    # A bad amount: case-service's field error appears beside the field.
    label_for(browser, "Amount (CNY)").send_keys("15OO")  # type: ignore[attr-defined]
    browser.find_element(By.XPATH, "//button[normalize-space()='Record promise']").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "amount-error").text.strip())
    amount = label_for(browser, "Amount (CNY)")
    amount.clear()  # type: ignore[attr-defined]
    amount.send_keys("1500.00")  # type: ignore[attr-defined]
    browser.execute_script(
        "arguments[0].value = arguments[1]",
        label_for(browser, "Promised date"),
        (datetime.now(UTC).date() + timedelta(days=3)).isoformat(),
    )
    browser.find_element(By.XPATH, "//button[normalize-space()='Record promise']").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "promise-recorded")))
    promises = browser.find_element(By.ID, "promises").text
    assert "1,500.00" in promises
    assert "Open" in promises
    assert browser.execute_script("return window.stillThisPage") is True

    label_for(browser, "Address visited").send_keys("8 Huaihai Road")  # type: ignore[attr-defined]
    Select(label_for(browser, "Visit outcome")).select_by_value("nobody_home")  # type: ignore[arg-type]
    browser.find_element(By.XPATH, "//button[normalize-space()='Record visit']").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "conduct-recorded")))
    screenshot(browser, "case")


def test_a_night_time_call_is_refused_with_the_guards_reason_on_the_page(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "collector2")
    browser.get(console_url(system, f"/cases/{cases.night_id}"))
    guard = browser.find_element(By.ID, "guard").text
    assert "outside permitted hours" in guard
    _record_attempt(browser, "no_answer")
    refusal = wait(browser).until(ec.presence_of_element_located((By.ID, "guard-refusal")))
    assert "outside permitted hours 08:00-22:00" in refusal.text
    assert "Next allowed" in refusal.text
    assert browser.find_element(By.ID, "number-error").text  # beside the field
    screenshot(browser, "case-night-refused")


def test_a_supervisor_sees_the_promise_on_the_dashboard(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "supervisor1")

    def promise_listed(driver: WebDriver) -> bool:
        driver.get(console_url(system, "/dashboard"))
        table = driver.find_element(By.ID, "due-week")
        return bool(table.find_elements(By.XPATH, f".//a[contains(@href, '{cases.day_id}')]"))

    wait(browser, 60).until(promise_listed)
    assert "1,500.00" in browser.find_element(By.ID, "due-week").text
    screenshot(browser, "dashboard")


def test_a_supervisor_agrees_a_payment_plan_on_the_case_screen(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "supervisor1")
    browser.get(console_url(system, f"/cases/{cases.night_id}"))
    Select(label_for(browser, "Plan kind")).select_by_value("extension")  # type: ignore[arg-type]
    label_for(browser, "Monthly instalments").send_keys("3")  # type: ignore[attr-defined]
    browser.execute_script(
        "arguments[0].value = arguments[1]",
        label_for(browser, "First due date"),
        (datetime.now(UTC).date() + timedelta(days=10)).isoformat(),
    )
    label_for(browser, "Instalment amount (CNY)").send_keys("1000.00")  # type: ignore[attr-defined]
    browser.find_element(By.XPATH, "//button[normalize-space()='Agree plan']").click()
    recorded = wait(browser).until(ec.presence_of_element_located((By.ID, "plans-recorded")))
    assert "Payment plan" in recorded.text

    label_for(browser, "Agency").send_keys("AG-EAST")  # type: ignore[attr-defined]
    label_for(browser, "Borrower's consent reference").send_keys("consent-7")  # type: ignore[attr-defined]
    browser.find_element(By.XPATH, "//button[normalize-space()='Place with agency']").click()
    panel = wait(browser).until(
        lambda d: (
            (t := d.find_element(By.ID, "plans-panel").text)
            and ("Agency placement" in t or d.find_elements(By.CSS_SELECTOR, "#plans-panel .error"))
            and t
        )
    )
    assert "Recorded: Agency placement" in panel

    def listed(driver: WebDriver) -> bool:
        # The placement reaches contact-service as a case event over Kafka.
        driver.get(console_url(system, "/dashboard"))
        return "AG-EAST" in driver.find_element(By.ID, "agencies").text

    wait(browser, 60).until(listed)


def test_a_supervisor_lifts_a_restriction_from_the_blocked_list(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    with system.client("contact-service", "collector") as collector:
        collector.post(
            f"/v1/cases/{cases.night_id}/contact-restrictions",
            json={"kind": "do_not_contact", "note": "asked in writing"},
        ).raise_for_status()
    sign_in(browser, system, "supervisor1")
    lift = f"//table[@id='blocked']//tr[.//a[contains(@href, '{cases.night_id}')]]//button"
    button = wait(browser).until(ec.presence_of_element_located((By.XPATH, lift)))
    assert "Do not contact" in button.text
    button.click()
    wait(browser).until(lambda d: "notice=lifted" in d.current_url)
    assert not browser.find_elements(By.XPATH, lift)


def test_an_auditor_reads_the_history_in_version_order_and_an_old_state(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "auditor1")
    label_for(browser, "Loan id").send_keys(cases.day_loan)  # type: ignore[attr-defined]
    browser.find_element(By.XPATH, "//button[normalize-space()='Find case']").click()
    wait(browser).until(lambda d: d.current_url.endswith(f"/cases/{cases.day_id}/history"))
    versions = [int(c.text) for c in browser.find_elements(By.CSS_SELECTOR, "#events td.version")]
    types = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#events td.type")]
    assert versions == list(range(1, len(versions) + 1))
    for name in (
        "CaseOpened",
        "PaymentMissed",
        "ContactAttempted",
        "PromiseToPayMade",
        "FieldVisitMade",
    ):
        assert name in types
    assert types[0] == "CaseOpened"
    browser.find_element(By.LINK_TEXT, "State at 1").click()
    wait(browser).until(lambda d: d.current_url.endswith("?version=1"))
    compare = browser.find_element(By.ID, "compare").text
    assert "At version 1" in compare
    assert "Changed" in compare or "changed" in compare
    screenshot(browser, "history")


def test_an_auditor_gets_a_403_page_not_the_attempt_form(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "auditor1")
    browser.get(console_url(system, f"/cases/{cases.day_id}"))
    assert browser.find_element(By.ID, "bucket").text == "M2"
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Record attempt']")
    browser.get(console_url(system, f"/cases/{cases.day_id}/contact-attempts/new"))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("403")
    assert not browser.find_elements(By.XPATH, "//button[normalize-space()='Record attempt']")
    screenshot(browser, "forbidden")


def test_a_legal_officer_records_a_demand_served_on_the_legal_file(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "legal1")
    browser.get(console_url(system, f"/legal/cases/{cases.day_id}"))
    assert browser.find_element(By.ID, "cost-benefit").text  # the cost-benefit is shown
    Select(label_for(browser, "Notice kind")).select_by_value("demand_letter")  # type: ignore[arg-type]
    Select(label_for(browser, "Delivered via")).select_by_value("registered_mail")  # type: ignore[arg-type]
    label_for(browser, "Proof of delivery").send_keys("EMS-0001")  # type: ignore[attr-defined]
    browser.find_element(By.XPATH, "//button[normalize-space()='Record notice']").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "step-recorded")))

    def stage_moved(driver: WebDriver) -> bool:
        # The step comes back to legal-service as a case event over Kafka.
        if driver.find_element(By.ID, "stage").text == "Demand served":
            return True
        driver.refresh()
        return False

    wait(browser, 60).until(stage_moved)
    screenshot(browser, "legal-case")


def test_the_pages_switch_to_simplified_chinese(
    system: System, browser: WebDriver, cases: Cases
) -> None:
    sign_in(browser, system, "collector1")
    browser.get(console_url(system, f"/cases/{cases.day_id}"))
    Select(label_for(browser, "Language")).select_by_value("zh_CN")  # type: ignore[arg-type]
    browser.find_element(By.XPATH, "//button[normalize-space()='Change']").click()
    button = wait(browser).until(
        ec.presence_of_element_located((By.XPATH, "//button[normalize-space()='记录尝试']"))
    )
    assert button
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"
    for text in ("渠道", "号码", "结果"):
        assert browser.find_elements(By.XPATH, f"//label[normalize-space()='{text}']")
    screenshot(browser, "case-zh-CN")
    Select(label_for(browser, "语言")).select_by_value("en")  # type: ignore[arg-type]
    browser.find_element(By.XPATH, "//button[normalize-space()='切换']").click()
    wait(browser).until(
        ec.presence_of_element_located((By.XPATH, "//button[normalize-space()='Record attempt']"))
    )
