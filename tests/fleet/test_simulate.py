"""fleet simulate on the local executor: rows, determinism across worker counts, resume,
the report, compare, and the usage error when Dask is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.results import JOURNAL, read_results
from gridpilot.fleet.run import simulate_fleet
from gridpilot.fleet.site_reports import write_site_reports
from tests.cli.runner import run_cli
from tests.fleet.conftest import DATA, POLICY, SWEEP, VARIANTS, row_tuples


def test_rows_for_every_site_and_variant_and_the_bad_one_failed(reference: Path) -> None:
    rows = read_results(reference / "results.parquet")
    assert [(r["site"], r["variant"], r["status"]) for r in rows] == [
        (site, v, "failed" if site == "broken" else "ok")
        for site in ("small", "middle", "large", "broken") for v in (0, 1)]
    assert [r["settings"] for r in rows[:2]] == ['{"site.battery.max_soc_pct": 90}',
                                                 '{"site.battery.max_soc_pct": 95}']
    assert "greater than 0" in rows[6]["error"]
    small, large = rows[0], rows[4]
    assert large["saving"] > small["saving"] > 0  # a bigger home and battery save more


def test_cli_on_two_workers_gives_the_same_rows_the_report_and_compare(
        reference: Path, tiny_fleet: Path, tmp_path: Path) -> None:
    # One command-line run, checked for everything it makes: the rows (equal to one worker's),
    # the warning about the bad site, the report with its per-site links, and compare.
    out = tmp_path / "run"
    r = run_cli("fleet", "simulate", str(tiny_fleet), "--out", str(out), "--jobs", "2",
                "--set", SWEEP)
    assert r.returncode == 0, r.stderr
    assert "warning: site 'broken' is invalid" in r.stderr
    assert "3 of 4 sites ran" in r.stdout
    assert row_tuples(out / "results.parquet") == row_tuples(reference / "results.parquet")
    md = (out / "fleet.md").read_text()
    assert "savings_hist.png" in md and (out / "savings_hist.png").is_file()
    assert "[large](sites/large/report.md)" in md and (out / "sites/large/report.md").is_file()
    assert "Variants across the fleet" in md
    assert "<table>" in (out / "fleet.html").read_text()
    cmp_ = run_cli("fleet", "compare", str(reference / "results.parquet"),
                   str(out / "results.parquet"))
    assert cmp_.returncode == 0 and "0 of 6 sites lose money" in cmp_.stdout


def test_resume_runs_only_what_is_missing(reference: Path, tiny_fleet: Path,
                                          tmp_path: Path) -> None:
    # An interrupted run: the journal holds one finished site × variant and half a line.
    lines = (reference / JOURNAL).read_text().splitlines()
    done = next(line for line in lines if '"site": "middle"' in line)
    (tmp_path / JOURNAL).write_text(done + "\n" + lines[0][:40])
    run = simulate_fleet(load_fleet(tiny_fleet), tmp_path, parse_executor("local", jobs=1),
                         variants=VARIANTS, resume=True)
    # small, large, and middle's other variant; the broken site's rows need no task
    assert run.rows_reused == 1 and run.tasks_run == 3
    assert [tuple(r.values()) for r in run.rows] == row_tuples(reference / "results.parquet")


def test_without_distributed_dask_is_a_usage_error(tiny_fleet: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    r = run_cli("fleet", "simulate", str(tiny_fleet), "--executor", "dask",
                "--out", str(tmp_path))
    assert r.returncode == 2
    assert 'pip install "gridpilot[dask]"' in r.stderr
    bad = run_cli("fleet", "simulate", str(tiny_fleet), "--executor", "dask://nowhere",
                  "--out", str(tmp_path))
    assert bad.returncode == 2 and "dask://HOST:PORT" in bad.stderr
    sweep = run_cli("sweep", str(POLICY), "--data", str(DATA), "--set", SWEEP,
                    "--executor", "dask")
    assert sweep.returncode == 2 and 'pip install "gridpilot[dask]"' in sweep.stderr


def test_a_sites_own_report_is_its_row_with_the_data_prices(tmp_path: Path) -> None:
    # A fleet that decides and bills with the data's prices: the best and worst sites' own
    # reports, re-run after the fleet, must be those very backtests, not the policy's tariff.
    path = tmp_path / "fleet.yaml"
    path.write_text(f"version: 1\nname: data prices\ndefaults:\n  policy: {POLICY}\n"
                    f"  data: {DATA}\n  step: 1h\n  from: '2018-06-01'\n  to: '2018-06-05'\n"
                    "  prices: data\nsites:\n  - name: home\n")
    fleet = load_fleet(path)
    run = simulate_fleet(fleet, tmp_path, parse_executor("local", jobs=1))
    links = write_site_reports(fleet, run.rows, tmp_path, optimal=False, jobs=1)
    (row,) = run.rows
    report = json.loads((tmp_path / links["home"].replace(".md", ".json")).read_text())
    assert report["prices"]["source"] == "data"
    assert report["results"]["policy"]["bill"] == pytest.approx(row["bill"], abs=1e-9)
    assert report["results"]["no_battery"]["bill"] == pytest.approx(row["no_battery_bill"],
                                                                    abs=1e-9)
