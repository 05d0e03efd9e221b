"""One live scheduler per test module (starting it costs a policy load and a few ticks), and a
headless Chromium for the tests that look at pages in a real browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.live import Live, start_live, stop_live

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,2200"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    running = start_live(tmp_path_factory.mktemp("state"))
    try:
        yield running
    finally:
        stop_live(running)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's chromium and chromium-driver, driven by Selenium, with a fresh profile: one per
    worker (the browser tests share the xdist group "browser", so one worker starts it)."""
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is in the test extras")
    if CHROMIUM is None or not Path(CHROMEDRIVER).exists():
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run does this)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
