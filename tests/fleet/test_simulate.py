"""fleet simulate on the local executor: rows, determinism across worker counts, resume,
the report, compare, and the usage error when Dask is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.results import JOURNAL, read_results
from gridpilot.fleet.run import simulate_fleet
from tests.cli.runner import run_cli

VARIANTS = ((), (("strategies.arbitrage.min_spread_per_kwh", 0.2),))


def _key(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [tuple(r.values()) for r in rows]


@pytest.fixture(scope="module")
def one_worker(tiny_fleet: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one")
    simulate_fleet(load_fleet(tiny_fleet), out, parse_executor("local", jobs=1))
    return out


def test_rows_for_every_site_and_the_bad_one_failed(one_worker: Path) -> None:
    rows = read_results(one_worker / "results.parquet")
    assert [(r["site"], r["status"]) for r in rows] == [
        ("small", "ok"), ("middle", "ok"), ("large", "ok"), ("broken", "failed")]
    assert "greater than 0" in rows[3]["error"]
    assert rows[2]["saving"] > rows[0]["saving"] > 0  # a bigger home and battery save more


def test_two_workers_give_the_same_rows(one_worker: Path, tiny_fleet: Path,
                                        tmp_path: Path) -> None:
    simulate_fleet(load_fleet(tiny_fleet), tmp_path, parse_executor("local", jobs=2))
    assert _key(read_results(tmp_path / "results.parquet")) == _key(
        read_results(one_worker / "results.parquet"))


def test_resume_runs_only_what_is_missing(one_worker: Path, tiny_fleet: Path,
                                          tmp_path: Path) -> None:
    # An interrupted run: the journal holds one finished site and half a line.
    lines = (one_worker / JOURNAL).read_text().splitlines()
    done = next(line for line in lines if '"site": "middle"' in line)
    (tmp_path / JOURNAL).write_text(done + "\n" + lines[0][:40])
    run = simulate_fleet(load_fleet(tiny_fleet), tmp_path, parse_executor("local", jobs=1),
                         resume=True)
    assert run.rows_reused == 1 and run.tasks_run == 2
    assert _key(run.rows) == _key(read_results(one_worker / "results.parquet"))


def test_cli_simulate_sweep_report_and_compare(tiny_fleet: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    r = run_cli("fleet", "simulate", str(tiny_fleet), "--out", str(a), "--jobs", "1")
    assert r.returncode == 0, r.stderr
    assert "warning: site 'broken' is invalid" in r.stderr
    r = run_cli("fleet", "simulate", str(tiny_fleet), "--out", str(b), "--jobs", "1",
                "--set", "site.battery.max_soc_pct=90,95", "--no-site-reports")
    assert r.returncode == 0, r.stderr
    md = (a / "fleet.md").read_text()
    assert "savings_hist.png" in md and (a / "savings_hist.png").is_file()
    assert "[large](sites/large/report.md)" in md and (a / "sites/large/report.md").is_file()
    assert "<table>" in (a / "fleet.html").read_text()
    assert "Variants across the fleet" in (b / "fleet.md").read_text()
    assert len(read_results(b / "results.parquet")) == 8
    cmp_ = run_cli("fleet", "compare", str(a / "results.parquet"), str(a / "results.parquet"))
    assert cmp_.returncode == 0 and "0 of 3 sites lose money" in cmp_.stdout


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
