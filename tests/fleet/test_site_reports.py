"""The best and worst sites' own reports: the same backtests whether they are written one
after another or by a pool of processes, each the backtest of the site's best row, and with
``--optimal`` the optimum its row solved, not solved again."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gridpilot.cli import main
from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.report import summarise
from gridpilot.fleet.results import JOURNAL, read_journal, read_results
from gridpilot.fleet.run import simulate_fleet
from gridpilot.fleet.site_reports import write_site_reports
from gridpilot.fleet.task import OPTIMUM, row_optima
from gridpilot.simulator.backtest import Backtest
from gridpilot.simulator.optimum_figures import OptimumFigures
from gridpilot.simulator.sweep import parse_setting, variants
from tests.fleet.conftest import VARIANTS
from tests.simulator.solves import count_solves, forget_optima


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


def test_reports_show_the_optimum_their_rows_solved_without_solving_it(
        tiny_fleet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = load_fleet(tiny_fleet)
    run = simulate_fleet(fleet, tmp_path / "run", parse_executor("local", jobs=1),
                         variants=VARIANTS, optimal=True)
    assert set(run.optima) == {(r["site_index"], r["variant"]) for r in run.rows
                               if r["status"] == "ok"}
    forget_optima(monkeypatch)  # nothing kept in this process from the fleet's own solves
    solves = count_solves(monkeypatch)
    kept = write_site_reports(fleet, run.rows, tmp_path / "kept", optimal=True, jobs=1,
                              optima=run.optima)
    assert solves == []
    solved = write_site_reports(fleet, run.rows, tmp_path / "solved", optimal=True, jobs=1)
    assert len(solved) == len(kept) == 3
    assert len(solves) == 2 * 3  # each site's optimum with and without its reserve
    for rel in kept.values():
        report = _figures(tmp_path / "kept" / rel.replace(".md", ".json"))
        assert report["results"]["optimum"] is not None
        assert report == _figures(tmp_path / "solved" / rel.replace(".md", ".json"))
    # a resumed run reads them back from its journal
    again = simulate_fleet(fleet, tmp_path / "run", parse_executor("local", jobs=1),
                           variants=VARIANTS, optimal=True, resume=True)
    assert again.tasks_run == 0
    assert again.optima == run.optima


def test_variants_sharing_an_optimum_keep_its_figures_once(
        tiny_fleet: Path, tmp_path: Path) -> None:
    fleet = load_fleet(tiny_fleet)
    spreads = variants([parse_setting("strategies.arbitrage.min_spread_per_kwh=0.01,0.03")])
    run = simulate_fleet(fleet, tmp_path, parse_executor("local", jobs=1), variants=spreads,
                         optimal=True)
    journal = read_journal(tmp_path / JOURNAL)
    carried = {(r["site_index"], r["variant"]): r[OPTIMUM] for r in journal if OPTIMUM in r}
    for site in (0, 1, 2):
        first, second = carried[(site, 0)], carried[(site, 1)]
        assert set(second) == {"key"} and second["key"] == first["key"]  # the same battery
        assert run.optima[(site, 0)] is run.optima[(site, 1)]
        assert OptimumFigures.from_dict(run.optima[(site, 1)]) is not None
    assert row_optima(journal) == run.optima
    # a row that names an optimum no row carries is left to solve it
    assert row_optima([r for r in journal if r["variant"] == 1]) == {}


def test_a_resumed_cli_run_reports_the_optimum_its_journal_kept(
        tiny_fleet: Path, tmp_path: Path) -> None:
    """Through the command, as a user resumes a run: the reports show the journal's figures
    (altered here, so a report that solved the optimum again would show the real ones)."""
    simulate_fleet(load_fleet(tiny_fleet), tmp_path, parse_executor("local", jobs=1),
                   optimal=True)
    journal = tmp_path / JOURNAL
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    real = {}
    for row in rows:
        if OPTIMUM in row:
            real[row["site"]] = row[OPTIMUM]["optimum"]["bill"]
            row[OPTIMUM]["optimum"]["bill"] += 1000.0
    journal.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["fleet", "simulate", str(tiny_fleet), "--out", str(tmp_path), "--optimal",
                 "--resume", "--jobs", "1"])
    assert code == 0
    reports = {p.parent.name: json.loads(p.read_text())
               for p in (tmp_path / "sites").glob("*/report.json")}
    assert sorted(reports) == sorted(real) == ["large", "middle", "small"]
    for site, report in reports.items():
        assert report["results"]["optimum"]["bill"] == real[site] + 1000.0


def test_figures_the_journal_cannot_hold_leave_the_row_and_the_run_whole(
        tiny_fleet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = Backtest.optimum_figures

    def not_finite(bt: Backtest) -> OptimumFigures | None:
        figures = real(bt)
        return None if figures is None else replace(figures, gap=math.nan)

    monkeypatch.setattr(Backtest, "optimum_figures", not_finite)
    run = simulate_fleet(load_fleet(tiny_fleet), tmp_path, parse_executor("local", jobs=1),
                         optimal=True)
    assert [r["status"] for r in run.rows] == ["ok", "ok", "ok", "failed"]
    assert all(r["savings_captured"] is not None for r in run.rows[:3])
    assert run.optima == {}  # the reports solve their optima instead
