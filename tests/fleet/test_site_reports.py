"""The best and worst sites' own reports: the same backtests whether they are written one
after another or by a pool of processes, and each the backtest of the site's best row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gridpilot.fleet import load_fleet
from gridpilot.fleet.report import summarise
from gridpilot.fleet.results import read_results
from gridpilot.fleet.site_reports import write_site_reports


def _figures(path: Path) -> dict[str, Any]:
    """A report's JSON without what measures this machine's speed."""
    report: dict[str, Any] = json.loads(path.read_text())
    report.pop("replay")
    return report


def test_reports_from_a_pool_are_the_serial_ones_and_the_rows(
        reference: Path, tiny_fleet: Path, tmp_path: Path) -> None:
    fleet = load_fleet(tiny_fleet)
    rows = read_results(reference / "results.parquet")
    serial = write_site_reports(fleet, rows, tmp_path / "serial", optimal=True, jobs=1)
    pooled = write_site_reports(fleet, rows, tmp_path / "pooled", optimal=True, jobs=2)
    assert serial == pooled
    assert sorted(serial) == ["large", "middle", "small"]  # every valid site of the tiny fleet
    best = {r["site"]: r for r in summarise(rows).per_site}
    for site, rel in serial.items():
        one = _figures(tmp_path / "serial" / rel.replace(".md", ".json"))
        assert one == _figures(tmp_path / "pooled" / rel.replace(".md", ".json"))
        # the report is the backtest of the site's row (its best variant)
        assert one["results"]["policy"]["bill"] == best[site]["bill"]
        assert one["results"]["optimum"] is not None
