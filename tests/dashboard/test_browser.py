"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium.

It logs in through a one-time link, checks that the charts and the trace show the live values,
sets and clears an override from the page, and saves a screenshot (``dashboard.png`` in the
test's artefact directory: ``$GRIDPILOT_ARTEFACTS`` or the test's tmp_path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gridpilot.scheduler.audit import read_audit
from tests.dashboard.live import Live, artefacts

pytest.importorskip("selenium", reason="selenium is in the test extras")

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

pytestmark = pytest.mark.xdist_group("browser")


def test_the_dashboard_logs_in_shows_the_live_decision_and_sets_an_override(
        live: Live, browser: Any, tmp_path: Path) -> None:
    wait = WebDriverWait(browser, 10, poll_frequency=0.05)
    browser.get(live.url + "/?refresh=1")
    wait.until(ec.visibility_of_element_located((By.ID, "login")))  # no session yet

    with httpx.Client(base_url=live.url) as c:
        link = c.post("/api/login-link", headers=live.auth).json()["url"]
    browser.get(link)
    report = live.scheduler.last_report
    assert report is not None and report.decision is not None
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")
               == str(live.scheduler.tick_count))
    cookie = browser.get_cookie("gridpilot_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: no script sees it

    # The command and the trace: the live decision, its winner highlighted, its limits listed.
    assert browser.find_element(By.ID, "command").text == report.decision.command.describe()
    trace = browser.find_element(By.ID, "trace")
    won = trace.find_element(By.CSS_SELECTOR, "tr.won")
    assert report.decision.winner in won.text
    limits = [h.limit for h in report.decision.limits]
    assert limits and all(name in trace.text for name in limits)

    # The charts: one bar per planned slot, prices for every known slot, actuals per tick.
    with httpx.Client(base_url=live.url, headers=live.auth) as c:
        plan = c.get("/api/plan", params={"hours": 48}).json()["slots"]
        prices = c.get("/api/prices").json()["slots"]
    bars = browser.find_elements(By.CSS_SELECTOR,
                                 '#chart-plan g[data-series="battery (plan)"] rect')
    assert len(bars) == len(plan) > 0
    assert float(bars[0].get_attribute("data-value")) == pytest.approx(plan[0]["battery_w"])
    line = browser.find_element(By.CSS_SELECTOR, '#chart-prices g[data-series="import"]')
    assert line.get_attribute("data-points") == str(len(prices))
    soc = browser.find_element(By.CSS_SELECTOR, '#chart-actuals g[data-series="SOC"]')
    assert soc.get_attribute("data-points") == str(live.scheduler.tick_count)

    # Recent decisions: searchable, each expands to its trace.
    search = browser.find_element(By.ID, "search")
    search.send_keys("no-such-words-anywhere")
    wait.until(ec.text_to_be_present_in_element((By.ID, "decisions"), "no decision matches"))
    search.clear()
    search.send_keys("arbitrage")
    first = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "#decisions summary")))
    first.click()
    assert "candidates" in browser.find_element(By.CSS_SELECTOR, "#decisions details").text

    # An override from the page, through the same API (with the session's CSRF token).
    form = browser.find_element(By.ID, "override-form")
    Select(form.find_element(By.NAME, "kind")).select_by_visible_text("hold")
    form.find_element(By.NAME, "name").send_keys("from-the-page")
    form.find_element(By.ID, "override-set").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "override-result"), "set from-the-page"))
    assert [o.name for o in live.scheduler.overrides.all()] == ["from-the-page"]
    clear = wait.until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, '#overrides button[data-name="from-the-page"]')))
    browser.save_screenshot(str(artefacts(tmp_path) / "dashboard.png"))
    clear.click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "override-result"),
                                                "cleared from-the-page"))
    assert live.scheduler.overrides.all() == []
    kinds = [r["kind"] for r in read_audit(live.state_dir)]
    assert {"web_login", "override_set", "override_cleared"} <= set(kinds)
