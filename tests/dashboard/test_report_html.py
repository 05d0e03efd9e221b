"""The backtest's report.html: beside report.md, offline, the data inline, drawn in a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gridpilot.cli import main
from tests.dashboard.live import ROOT, artefacts


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("backtest")
    assert main(["simulate", str(ROOT / "examples/policies/agile-dynamic.yaml"), "--data",
                 str(ROOT / "examples/data/uk-2018-halfhourly.csv"), "--from", "2018-01-14",
                 "--to", "2018-01-17", "--out", str(out), "--no-plots"]) == 0
    return out


pytestmark = pytest.mark.xdist_group("browser")


def test_report_html_is_one_offline_file_with_the_data_inline(report: Path) -> None:
    page = (report / "report.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>',
                                page, re.S).group(1))  # type: ignore[union-attr]
    days = data["days"]
    assert len(days["start_s"]) == 3  # site days of the three days simulated
    summary = json.loads((report / "report.json").read_text())
    policy = summary["results"]["policy"]
    # The days' costs add up to the bill's energy part (standing charge aside).
    assert sum(days["cost"]) == pytest.approx(policy["energy_cost"] - policy["export_revenue"],
                                              abs=0.01)
    assert len(data["week"]["battery_w"]) == len(data["week"]["start_s"]) > 0


def test_report_html_draws_its_charts_in_a_browser(report: Path, browser: Any,
                                                   tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get((report / "report.html").as_uri())
    for chart, series in [("chart-week-prices", "import"), ("chart-week-power", "SOC"),
                          ("chart-days", "no battery")]:
        g = browser.find_element(By.CSS_SELECTOR, f'#{chart} g[data-series="{series}"]')
        assert int(g.get_attribute("data-points")) > 0
    browser.save_screenshot(str(artefacts(tmp_path) / "report-html.png"))
