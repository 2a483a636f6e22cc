"""The console in a real headless Chromium (Debian's chromium and chromedriver, driven by
Selenium; Selenium Manager is kept offline), against the whole system started as processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.system import System, running_system
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (make test installs them)",
)


@pytest.fixture(scope="module")
def system(
    postgres_url_base: str,
    kafka_bootstrap_servers: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    logs = tmp_path_factory.mktemp("browser-logs")
    with running_system(
        postgres_url_base,
        kafka_bootstrap_servers,
        logs,
        {"KAFKA_SESSION_TIMEOUT_MS": "1000", "KAFKA_HEARTBEAT_INTERVAL_MS": "200"},
        console=True,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--lang=en-GB",
    ):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def console_url(system: System, path: str = "") -> str:
    return system.url("console") + path


def wait(driver: WebDriver, seconds: float = 20.0) -> WebDriverWait[WebDriver]:
    # An htmx swap replaces the panel under a found element: look again.
    return WebDriverWait(
        driver, seconds, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    )


def label_for(driver: WebDriver, text: str) -> object:
    """The control a visible <label> with exactly this text names."""
    quoted = f'"{text}"' if "'" in text else f"'{text}'"
    label = driver.find_element(By.XPATH, f"//label[normalize-space()={quoted}]")
    return driver.find_element(By.ID, label.get_attribute("for") or "")


def sign_in(driver: WebDriver, system: System, username: str) -> None:
    driver.delete_all_cookies()
    driver.get(console_url(system, "/login"))
    label_for(driver, "Username").send_keys(username)  # type: ignore[attr-defined]
    label_for(driver, "Password").send_keys(system.demo_users[username])  # type: ignore[attr-defined]
    driver.find_element(By.XPATH, "//button[normalize-space()='Sign in']").click()
    # Generous: the machine is shared, and a start page calls several services.
    wait(driver, 60).until(lambda d: "/login" not in d.current_url)
    wait(driver, 60).until(ec.presence_of_element_located((By.TAG_NAME, "h1")))


def screenshot(driver: WebDriver, name: str) -> None:
    """docs/console/<name>.png, the whole page's height at 1280 wide."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script("window.scrollTo(0, 0)")
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(800, min(int(height) + 40, 4000)))
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    driver.set_window_size(1280, 800)


__all__ = ["console_url", "label_for", "screenshot", "sign_in", "wait"]
