"""Sweeps (setting parsing, variants, a ranked run on two processes) and ``gridpilot demo``."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gridpilot.errors import DataError
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.sweep import run_sweep
from gridpilot.fleet.task import SiteData
from gridpilot.recorded import load_data
from gridpilot.recorded.resample import resample
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.sweep import parse_setting, variants, write_csv

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks/policies/bench-decide.yaml"
DATA = ROOT / "examples/data/uk-2018-halfhourly.csv"


def test_parse_setting() -> None:
    s = parse_setting("strategies.arbitrage.min_spread_per_kwh=0:0.06:0.02")
    assert s.path == ("strategies", "arbitrage", "min_spread_per_kwh")
    assert s.values == (0.0, 0.02, 0.04, 0.06)
    assert parse_setting("a.b=1000:3000:1000").values == (1000, 2000, 3000)
    assert parse_setting("a.b=x,y").values == ("x", "y")
    assert len(variants([parse_setting("a.b=1,2,3"), parse_setting("c.d=4,5")])) == 6
    with pytest.raises(DataError, match="A:B:STEP"):
        parse_setting("a.b=3:1:1")
    with pytest.raises(DataError, match="PATH=A:B:STEP"):
        parse_setting("a.b")


def test_sweep_ranks_variants_and_reports_bad_ones(tmp_path: Path) -> None:
    policy = load_policy(BENCH)
    start = 1_515_974_400  # 2018-01-15 UTC
    series = resample(load_data(DATA).slice_time(start, start + 5 * 86400), 1800)
    settings = [parse_setting("strategies.arbitrage.min_spread_per_kwh=0,0.5,-1")]
    results = run_sweep(BENCH, SiteData(series), settings, parse_executor("local", jobs=2))
    bills = [v.bill for v in results if v.bill is not None]
    assert len(bills) == 2 and bills == sorted(bills)
    # a negative spread is refused by validation, with the policy's own message
    bad = results[-1]
    assert bad.bill is None and "min_spread_per_kwh" in bad.error
    # the setting reached the strategy: the two variants ran the battery differently
    by_value = {v.settings[0][1]: v for v in results}
    assert by_value[0].equivalent_full_cycles != by_value[0.5].equivalent_full_cycles
    assert policy.name
    out = tmp_path / "s.csv"
    write_csv(out, results)
    rows = list(csv.DictReader(out.open()))
    assert [r["rank"] for r in rows] == ["1", "2", "3"]


def test_sweep_and_demo_commands(tmp_path: Path) -> None:
    out = tmp_path / "sweep.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "sweep", str(BENCH), "--data", str(DATA),
         "--from", "2018-02-01", "--to", "2018-02-04", "--step", "30m",
         "--set", "strategies.shave.max_import_w=3000,5000", "--csv", str(out)],
        capture_output=True, text=True, check=False, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "ranked by bill" in proc.stdout
    assert len(list(csv.DictReader(out.open()))) == 2
    demo_out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "gridpilot", "demo", "--step", "1h", "--no-optimal",
         "--out", str(demo_out)],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads((demo_out / "report.json").read_text())
    assert report["period"]["ticks"] == 8760
    assert report["results"]["policy"]["bill"] < report["results"]["no_battery"]["bill"]
